// A Redis that stops answering (SIGSTOP) under a real gateway with one I/O thread: the
// requests that block on Redis (routes with no group form, keys not in the cache) wait
// on the blocking-call threads, not on the I/O thread, so other requests are still
// answered; and past --max-queued-calls such a request is refused at once with 503
// overloaded instead of queueing.
#include <algorithm>
#include <csignal>
#include <functional>
#include <future>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/api_key.h"
#include "tests/support/stack.h"

namespace batchq::test {
namespace {

constexpr int kCallers = 4;

StackOptions OneIoThread() {
  return StackOptions{
      .workers = 1,
      .gateway_args = {"--threads", "1", "--blocking-threads", "1", "--max-queued-calls", "1"}};
}

// With Redis stopped, kCallers calls of `call` at once (each on its own connection):
// one waits on the blocking thread and one in its queue (up to Redis's 2 s command
// timeout), so one past them is answered 503 overloaded at once, and the one I/O
// thread still answers /healthz while the others wait. Then Redis goes on, every call
// is answered with one of `statuses`, and the stack serves again.
void ExpectStallHeldOffTheIoThread(Stack& stack,
                                   const std::function<Result<HttpResponse>(int)>& call,
                                   std::vector<int> statuses) {
  auto probe = stack.Client();
  ASSERT_TRUE(probe->Get("/healthz"));
  stack.redis().Signal(SIGSTOP);
  std::vector<std::future<Result<HttpResponse>>> calls;
  for (int i = 0; i < kCallers; ++i) {
    calls.push_back(std::async(std::launch::async, [&call, i] { return call(i); }));
  }
  bool overloaded = false;
  for (auto& one : calls) {
    if (one.wait_for(std::chrono::milliseconds(1500)) != std::future_status::ready) continue;
    auto answer = one.get();
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 503) << answer->body;
    EXPECT_NE(answer->body.find(R"("code":"overloaded")"), std::string::npos) << answer->body;
    overloaded = true;
    break;
  }
  EXPECT_TRUE(overloaded) << "a call past --max-queued-calls is refused at once";
  auto health = probe->Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  const bool still_waiting = std::any_of(calls.begin(), calls.end(), [](const auto& one) {
    return one.valid() && one.wait_for(std::chrono::seconds(0)) != std::future_status::ready;
  });
  EXPECT_TRUE(still_waiting) << "some call should still wait for the stopped Redis";
  stack.redis().Signal(SIGCONT);

  // Every call is answered: as Redis answers, or 503 (overloaded, or Redis's timeout).
  statuses.push_back(503);
  for (auto& one : calls) {
    if (!one.valid()) continue;
    auto answer = one.get();
    ASSERT_TRUE(answer);
    EXPECT_NE(std::find(statuses.begin(), statuses.end(), answer->status), statuses.end())
        << answer->status << " " << answer->body;
  }
  // The broker also waited on Redis; once it is back, the stack serves again.
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  ExpectUpperJobRuns(*probe, "after the stall");
}

TEST(RedisStallTest, ListsWaitOffTheIoThreadAndOverflowIsRefused) {
  Stack stack(OneIoThread());
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  // Each caller has its own connection; the first list also caches the key.
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (int i = 0; i < kCallers; ++i) {
    clients.push_back(stack.Client());
    auto warm = clients.back()->Get("/v1/jobs?limit=1");
    ASSERT_TRUE(warm && warm->status == 200) << stack.Logs();
  }
  ExpectStallHeldOffTheIoThread(
      stack, [&clients](int i) { return clients[i]->Get("/v1/jobs?limit=1"); }, {200});
}

TEST(RedisStallTest, KeysNotInTheCacheAreLookedUpOffTheIoThread) {
  Stack stack(OneIoThread());
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  // Keys no gateway has seen: each request's key must be looked up in Redis.
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (int i = 0; i < kCallers; ++i) {
    clients.push_back(stack.Client(FormatKeyText(NewKeyText())));
    ASSERT_TRUE(clients.back()->Get("/healthz"));
  }
  ExpectStallHeldOffTheIoThread(stack, [&clients](int i) { return clients[i]->Get("/v1/types"); },
                                {401});
}

}  // namespace
}  // namespace batchq::test
