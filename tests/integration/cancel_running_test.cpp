// DELETE on a running job through real processes: it ends `cancelled` at once, with who
// cancelled it; the broker tells its worker, whose handler skips it; its batch-mates
// succeed; its late result is refused; a finished job stays finished (409).
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "tests/support/stack.h"

namespace batchq::test {
namespace {

TEST(CancelRunningTest, ARunningRenderJobCancelledMidBatchEndsAtOnceWhileItsBatchMatesSucceed) {
  Stack stack({.workers = 1,
               .broker_args = {"--type", "render:max_batch_size=3,max_delay_ms=500"},
               .worker_args = {"--type", "render", "--metrics-listen", "127.0.0.1:0"}});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  const std::string key = stack.CreateKey("alpha", "submit,read,cancel");
  const std::string key_id = key.substr(3, 12);
  auto client = stack.Client(key);
  // The first image takes the handler a while; the cancelled job is the last of the batch.
  const auto batch = client->PostJson(
      "/v1/jobs:batch",
      R"({"jobs":[{"type":"render","input":{"width":2048,"height":2048,"iterations":500}},)"
      R"({"type":"render","input":{"width":64,"height":64}},)"
      R"({"type":"render","input":{"width":64,"height":64}}]})");
  ASSERT_TRUE(batch);
  ASSERT_EQ(batch->status, 202) << batch->body;
  const std::vector<std::string> ids = BatchIds(batch->body);
  ASSERT_EQ(ids.size(), 3u) << batch->body;
  ASSERT_TRUE(WaitForStatus(*client, ids[2], "running")) << stack.Logs();

  const auto cancelled = client->Delete("/v1/jobs/" + ids[2]);
  ASSERT_TRUE(cancelled);
  ASSERT_EQ(cancelled->status, 200) << cancelled->body;
  EXPECT_EQ(JsonString(cancelled->body, "status"), "cancelled");
  EXPECT_EQ(JsonString(cancelled->body, "cancelled_by"), key_id);
  EXPECT_FALSE(JsonString(cancelled->body, "finished_at").empty()) << "when it was cancelled";

  const std::string first = WaitTerminal(*client, ids[0]);
  const std::string second = WaitTerminal(*client, ids[1]);
  EXPECT_EQ(JsonString(first, "status"), "succeeded") << first;
  EXPECT_EQ(JsonString(second, "status"), "succeeded") << second;
  const std::string after = client->Get("/v1/jobs/" + ids[2])->body;
  EXPECT_EQ(JsonString(after, "status"), "cancelled") << "the late result was written: " << after;
  EXPECT_EQ(JsonString(after, "batch", "id"), JsonString(first, "batch", "id"))
      << "the three ran as one batch";

  // The worker's handler saw the cancel and skipped the job.
  const std::string metrics = ScrapeMetrics(
      fmt::format("http://127.0.0.1:{}", LoggedMetricsPort(stack.worker(0).ReadLog())));
  EXPECT_NE(metrics.find(
                R"(batchq_worker_jobs_total{code="cancelled",outcome="failed",type="render"} 1)"),
            std::string::npos)
      << metrics;

  const auto finished = client->Delete("/v1/jobs/" + ids[0]);
  ASSERT_TRUE(finished);
  EXPECT_EQ(finished->status, 409);
  EXPECT_EQ(JsonString(finished->body, "error", "code"), "not_cancellable");
  EXPECT_EQ(JsonString(client->Get("/v1/jobs/" + ids[0])->body, "status"), "succeeded");
}

}  // namespace
}  // namespace batchq::test
