// Brokers sharing one Redis, with real processes: one active under a lease, the others
// standing by. Killing the active one hands over and loses no accepted job; freezing it
// past its lease (split brain) makes it step down when it wakes, and nothing runs twice;
// Redis itself refuses a deposed epoch's starts and endings.
#include <signal.h>

#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/job_store.h"
#include "common/redis_connection.h"
#include "tests/support/role_stores.h"
#include "tests/support/stack.h"

namespace batchq::test {
namespace {

// Submits one upper job; its id when accepted (202), "" when refused (503 while no
// broker is active is allowed), and a test failure for anything else.
std::string TrySubmit(HttpClient& client, int n) {
  auto response =
      client.PostJson("/v1/jobs", fmt::format(R"({{"type":"upper","input":"job {}"}})", n));
  if (!response) return "";
  if (response->status == 202) return JsonString(response->body, "id");
  EXPECT_EQ(response->status, 503) << response->body;
  return "";
}

// Jobs run by the worker whose log is `log`, from its /metrics.
double JobsRun(const std::string& log) {
  const int port = LoggedMetricsPort(log);
  const std::string text = ScrapeMetrics(fmt::format("http://127.0.0.1:{}", port));
  double total = 0;
  std::size_t at = 0;
  while ((at = text.find("\nbatchq_worker_jobs_total{", at)) != std::string::npos) {
    const auto end = text.find('\n', at + 1);
    const std::string line = text.substr(at + 1, end - at - 1);
    total += std::stod(line.substr(line.rfind(' ') + 1));
    at = end;
  }
  return total;
}

void ExpectAllSucceeded(HttpClient& client, const std::vector<std::string>& ids,
                        const Stack& stack) {
  for (const auto& id : ids) {
    const std::string job = WaitTerminal(client, id);
    ASSERT_EQ(JsonString(job, "status"), "succeeded") << id << " " << job << stack.Logs();
    EXPECT_EQ(JsonInt(job, "attempts"), 1) << job;
  }
}

const std::vector<std::string> kFastLease = {"--lease-ms", "1500", "--heartbeat-ms", "300"};

TEST(FailoverTest, KillingTheActiveBrokerHandsOverAndEveryAcceptedJobSucceeds) {
  Stack stack(StackOptions{.workers = 2, .brokers = 2, .broker_args = kFastLease});
  ASSERT_TRUE(stack.WaitReady(2)) << stack.Logs();
  const int active = stack.ActiveBroker();
  ASSERT_NE(active, -1) << stack.Logs();
  const std::uint64_t first_epoch = stack.ReadLease().epoch;
  auto client = stack.Client();
  std::vector<std::string> accepted;
  for (int i = 0; i < 100; ++i) {
    const std::string id = TrySubmit(*client, i);
    ASSERT_FALSE(id.empty());
    accepted.push_back(id);
  }

  stack.broker(active).Kill();
  // Clients keep submitting through the outage: some are refused (503) until the other
  // broker holds the lease and the gateway follows it; every one accepted must run.
  int after_kill = 0;
  int refused = 0;
  ASSERT_TRUE(WaitFor([&] {
    const std::string id = TrySubmit(*client, 1000 + after_kill + refused);
    if (id.empty()) {
      ++refused;
      return false;
    }
    accepted.push_back(id);
    return ++after_kill >= 50;
  })) << stack.Logs();
  const int next = stack.ActiveBroker(first_epoch);
  EXPECT_EQ(next, 1 - active) << "the standby took the lease";
  ExpectAllSucceeded(*client, accepted, stack);

  // The killed broker comes back as a standby, and the service goes on.
  stack.StartBroker(active);
  ExpectUpperJobRuns(*client, "after the comeback");
  EXPECT_EQ(stack.ActiveBroker(), next);
}

// Split brain: the active broker is frozen with jobs queued in its memory; the standby
// takes over and takes them on; a worker that knows only the frozen broker waits at its
// door. Woken, the deposed broker must dispatch nothing to it (its own clock says its
// lease lapsed, and Redis would refuse the starts of its epoch anyway): every job runs
// once, under the new epoch, on the worker of the new active broker.
TEST(FailoverTest, ABrokerFrozenPastItsLeaseStepsDownWhenItWakesAndNothingRunsTwice) {
  Stack stack(StackOptions{.workers = 0, .brokers = 2, .broker_args = kFastLease});
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  const int frozen = stack.ActiveBroker();
  ASSERT_NE(frozen, -1) << stack.Logs();
  const std::uint64_t first_epoch = stack.ReadLease().epoch;
  auto client = stack.Client();
  // Queued in the active broker's memory (no worker yet), durable in Redis.
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    const std::string id = TrySubmit(*client, i);
    ASSERT_FALSE(id.empty());
    ids.push_back(id);
  }

  stack.broker(frozen).Signal(SIGSTOP);
  ASSERT_EQ(stack.ActiveBroker(first_epoch), 1 - frozen) << stack.Logs();
  const std::size_t loyal = stack.AddWorker(
      {"--broker", stack.broker_backend(frozen), "--metrics-listen", "127.0.0.1:0"});
  ASSERT_TRUE(WaitFor(
      [&] { return stack.worker(loyal).ReadLog().find("connecting to") != std::string::npos; }));
  stack.broker(frozen).Signal(SIGCONT);
  EXPECT_TRUE(WaitFor([&] {
    return stack.broker(frozen).ReadLog().find("stands by") != std::string::npos;
  })) << stack.Logs();

  const std::size_t free_worker = stack.AddWorker({"--metrics-listen", "127.0.0.1:0"});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  for (int i = 0; i < 20; ++i) {
    const std::string id = TrySubmit(*client, 100 + i);
    ASSERT_FALSE(id.empty());
    ids.push_back(id);
  }
  ExpectAllSucceeded(*client, ids, stack);
  for (const auto& id : ids) {
    auto job = client->Get("/v1/jobs/" + id);
    ASSERT_TRUE(job);
    EXPECT_EQ(JsonString(job->body, "worker"), fmt::format("w{}", free_worker)) << job->body;
  }
  EXPECT_EQ(stack.ActiveBroker(), 1 - frozen) << "the woken broker did not take the lease back";
  EXPECT_EQ(JobsRun(stack.worker(loyal).ReadLog()), 0) << stack.Logs();
  EXPECT_EQ(JobsRun(stack.worker(free_worker).ReadLog()), 40) << "each job ran once";
}

TEST(FailoverTest, RedisRefusesADeposedEpochsStartsAndEndings) {
  Stack stack(StackOptions{.workers = 0});
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  RoleStores roles(stack);
  auto& [gateway_redis, broker_redis, worker_redis, gateway, broker, worker] = roles;
  const std::uint64_t current = stack.ReadLease().epoch;
  ASSERT_GT(current, 0u);
  const std::uint64_t deposed = current - 1;

  NewJob job;
  job.id = "fence-1";
  job.type = "upper";
  job.tenant = "t";
  job.input = "\"x\"";
  job.created = NowWallMicros();
  ASSERT_TRUE(gateway.Create(std::span(&job, 1)));
  const JobClaim claim{job.id, 1};
  auto batch = [&](std::uint64_t epoch) {
    return BatchStart{"b", 1, "w", NowWallMicros(), NowWallMicros(), "full", epoch};
  };
  auto stale_start = worker.Start(batch(deposed), std::span(&claim, 1));
  ASSERT_TRUE(stale_start) << stale_start.error().message;
  EXPECT_FALSE((*stale_start)[0]) << "a deposed broker's batch claimed a job";
  auto stale_end = broker.Terminate(std::span(&job.id, 1), JobStatus::kExpired, ErrorCode::kExpired,
                                    "x", deposed);
  ASSERT_TRUE(stale_end) << stale_end.error().message;
  EXPECT_FALSE((*stale_end)[0]) << "a deposed broker ended a job";
  auto record = gateway.Get(job.id);
  ASSERT_TRUE(record && *record);
  EXPECT_EQ((*record)->status, JobStatus::kQueued);

  auto start = worker.Start(batch(current), std::span(&claim, 1));
  ASSERT_TRUE(start);
  EXPECT_TRUE((*start)[0]) << "the active broker's batch claims it";
}

}  // namespace
}  // namespace batchq::test
