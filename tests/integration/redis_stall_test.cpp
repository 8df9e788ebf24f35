// A Redis that stops answering (SIGSTOP) under a real gateway with one I/O thread: the
// routes that block on Redis wait on the blocking-call threads, not on the I/O thread,
// so other requests are still answered; and past --max-queued-calls such a route is
// refused at once with 503 overloaded instead of queueing.
#include <algorithm>
#include <csignal>
#include <future>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/stack.h"

namespace batchq::test {
namespace {

TEST(RedisStallTest, BlockingRoutesWaitOffTheIoThreadAndOverflowIsRefused) {
  Stack stack(StackOptions{
      .workers = 1,
      .gateway_args = {"--threads", "1", "--blocking-threads", "1", "--max-queued-calls", "1"}});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  // Each caller has its own connection; the first list also caches the key.
  constexpr int kCallers = 4;
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (int i = 0; i < kCallers; ++i) {
    clients.push_back(stack.Client());
    auto warm = clients.back()->Get("/v1/jobs?limit=1");
    ASSERT_TRUE(warm && warm->status == 200) << stack.Logs();
  }
  auto probe = stack.Client();
  ASSERT_TRUE(probe->Get("/healthz"));

  stack.redis().Signal(SIGSTOP);
  // One list waits on the blocking thread and one in its queue (up to Redis's 2 s command
  // timeout); the others find the queue full.
  std::vector<std::future<Result<HttpResponse>>> lists;
  for (auto& client : clients) {
    lists.push_back(
        std::async(std::launch::async, [&client] { return client->Get("/v1/jobs?limit=1"); }));
  }
  bool overloaded = false;
  for (auto& list : lists) {
    if (list.wait_for(std::chrono::milliseconds(1500)) != std::future_status::ready) continue;
    auto answer = list.get();
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 503) << answer->body;
    EXPECT_NE(answer->body.find(R"("code":"overloaded")"), std::string::npos) << answer->body;
    overloaded = true;
    break;
  }
  EXPECT_TRUE(overloaded) << "a list past --max-queued-calls is refused at once";
  // The one I/O thread is free: it answers while lists still wait for Redis.
  auto health = probe->Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  const bool still_waiting = std::any_of(lists.begin(), lists.end(), [](const auto& list) {
    return list.valid() && list.wait_for(std::chrono::seconds(0)) != std::future_status::ready;
  });
  EXPECT_TRUE(still_waiting) << "some list should still wait for the stopped Redis";
  stack.redis().Signal(SIGCONT);

  // Every list is answered: 200, or 503 (overloaded, or Redis's timeout), never dropped.
  for (auto& list : lists) {
    if (!list.valid()) continue;
    auto answer = list.get();
    ASSERT_TRUE(answer);
    EXPECT_TRUE(answer->status == 200 || answer->status == 503) << answer->body;
  }
  // The broker also waited on Redis; once it is back, the stack serves again.
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  ExpectUpperJobRuns(*probe, "after the stall");
}

}  // namespace
}  // namespace batchq::test
