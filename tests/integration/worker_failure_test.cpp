// A worker killed mid-batch takes nothing down and loses no job: its batches go
// back to the queue and run on the other worker.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/support/stack.h"

namespace batchq::test {
namespace {

TEST(WorkerFailureTest, KilledWorkerMidBatchLosesNothing) {
  // Batches of sleep take 300 ms, so a kill lands while batches are in flight; heartbeats
  // every 100 ms so the broker declares the worker dead quickly.
  Stack stack(
      StackOptions{.workers = 2,
                   .broker_args = {"--heartbeat-ms", "100", "--type",
                                   "sleep:max_batch_size=4,max_delay_ms=1", "--type", "upper"},
                   .worker_args = {"--heartbeat-ms", "100", "--sleep-fixed-us", "300000"}});
  ASSERT_TRUE(stack.WaitReady(2)) << stack.Logs();
  auto client = stack.Client();
  std::vector<std::string> ids;
  for (int i = 0; i < 24; ++i) {
    auto response = client->PostJson("/v1/jobs", R"({"type":"sleep","input":1})");
    ASSERT_TRUE(response);
    ASSERT_EQ(response->status, 202);
    ids.push_back(JsonString(response->body, "id"));
  }
  // Kill worker 0 once it is running something.
  ASSERT_TRUE(WaitFor([&] {
    for (const auto& id : ids) {
      auto job = client->Get("/v1/jobs/" + id);
      if (job && JsonString(job->body, "status") == "running" &&
          JsonString(job->body, "worker") == "w0") {
        return true;
      }
    }
    return false;
  })) << stack.Logs();
  stack.worker(0).Kill();

  int retried = 0;
  for (const auto& id : ids) {
    auto job = client->Get(fmt::format("/v1/jobs/{}?wait_ms=30000", id));
    ASSERT_TRUE(job);
    ASSERT_EQ(JsonString(job->body, "status"), "succeeded") << job->body << stack.Logs();
    if (JsonInt(job->body, "attempts") > 1) {
      ++retried;
      EXPECT_EQ(JsonString(job->body, "worker"), "w1");
    }
  }
  EXPECT_GT(retried, 0) << "the killed worker's batch should have been re-run";
  EXPECT_TRUE(stack.broker().running());
  EXPECT_TRUE(stack.gateway().running());
  EXPECT_TRUE(stack.worker(1).running());
}

TEST(WorkerFailureTest, JobsWaitForAWorkerAndRunWhenOneArrives) {
  Stack stack(StackOptions{.workers = 0});
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  auto client = stack.Client();
  auto response = client->PostJson("/v1/jobs", R"({"type":"upper","input":"patience"})");
  ASSERT_TRUE(response);
  ASSERT_EQ(response->status, 202);
  stack.AddWorker();
  auto job =
      client->Get(fmt::format("/v1/jobs/{}?wait_ms=30000", JsonString(response->body, "id")));
  ASSERT_TRUE(job);
  EXPECT_EQ(JsonString(job->body, "result"), "PATIENCE") << job->body;
}

}  // namespace
}  // namespace batchq::test
