// Retries through real processes: a retryable failure (transient_error, from a plugin that
// fails as often as its input says) runs again after its backoff until it succeeds or its
// max_retries are spent, each attempt kept in the record's history; a permanent failure
// runs once; POST /v1/jobs/{id}:retry runs an ended job again under the same id. The
// finish script's history is also driven directly, past its bound.
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include "common/job_store.h"
#include "common/redis_connection.h"
#include "tests/support/role_stores.h"
#include "tests/support/stack.h"

namespace batchq::test {
namespace {

struct Attempt {
  std::int64_t attempt = 0;
  std::string status;
  std::string code;
  std::int64_t started_us = 0;
  std::int64_t finished_us = 0;
};

// The record's "history" array; empty when it has none.
std::vector<Attempt> History(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::dom::element root = parser.parse(body);
  simdjson::dom::array history;
  std::vector<Attempt> out;
  if (root["history"].get(history) != simdjson::SUCCESS) return out;
  for (auto entry : history) {
    Attempt& attempt = out.emplace_back();
    attempt.attempt = entry["attempt"].get_int64().value();
    attempt.status = std::string(entry["status"].get_string().value());
    attempt.code = std::string(entry["error"]["code"].get_string().value());
    attempt.started_us = entry["started_us"].get_int64().value();
    attempt.finished_us = entry["finished_us"].get_int64().value();
  }
  return out;
}

std::string Submit(HttpClient& client, const std::string& body) {
  auto submitted = client.PostJson("/v1/jobs", body);
  if (!submitted || submitted->status != 202) {
    throw std::runtime_error("submit refused: " + (submitted ? submitted->body : "no answer"));
  }
  return JsonString(submitted->body, "id");
}

StackOptions FlakyStack() {
  return {.workers = 1,
          .broker_args = {"--type", "flaky:max_retries=3,retry_backoff_ms=20,max_delay_ms=1",
                          "--type", "upper", "--type", "idle", "--metrics-listen", "127.0.0.1:0"},
          .worker_args = {"--type", "upper", "--handler-lib", BATCHQ_FLAKY_PLUGIN}};
}

TEST(RetryTest, ARetryableFailureRunsAgainUntilItSucceedsAndThePermanentOneRunsOnce) {
  Stack stack(FlakyStack());
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto client = stack.Client();
  const auto types = client->Get("/v1/types");
  ASSERT_TRUE(types);
  EXPECT_NE(types->body.find(R"("max_retries":3,"retry_backoff_ms":20)"), std::string::npos)
      << "the type's defaults are shown: " << types->body;

  // Fails twice, then succeeds: the type's default of 3 retries is enough.
  const std::string twice = Submit(*client, R"({"type":"flaky","input":"a:2"})");
  const std::string ended = WaitTerminal(*client, twice, 40);
  ASSERT_EQ(JsonString(ended, "status"), "succeeded") << ended << stack.Logs();
  EXPECT_EQ(JsonInt(ended, "attempts"), 3);
  EXPECT_EQ(JsonInt(ended, "retries"), 2);
  EXPECT_EQ(JsonInt(ended, "result", "runs"), 3);
  const auto history = History(ended);
  ASSERT_EQ(history.size(), 2u) << ended;
  for (std::size_t i = 0; i < history.size(); ++i) {
    EXPECT_EQ(history[i].attempt, static_cast<std::int64_t>(i + 1));
    EXPECT_EQ(history[i].status, "failed");
    EXPECT_EQ(history[i].code, "transient_error");
    EXPECT_GT(history[i].started_us, 1'700'000'000'000'000) << "microseconds, unrounded";
    EXPECT_GE(history[i].finished_us, history[i].started_us);
  }
  // Each retry waited for its backoff (20 ms, then 40 ms, times a jitter of at least 0.5).
  EXPECT_GE(history[1].started_us - history[0].finished_us, 10'000);
  EXPECT_GE(JsonInt(ended, "timeline", "started_us") - history[1].finished_us, 20'000);

  // The broker held the retries itself (the worker's DONE named them), not its sweep.
  EXPECT_EQ(stack.broker().ReadLog().find("sweep: recovered"), std::string::npos)
      << stack.broker().ReadLog();

  // Its own max_retries of 1 runs it twice, then it fails with the handler's error.
  const std::string spent =
      Submit(*client, R"({"type":"flaky","input":"b:5","max_retries":1,"retry_backoff_ms":1})");
  const std::string failed = WaitTerminal(*client, spent, 40);
  EXPECT_EQ(JsonString(failed, "status"), "failed") << failed;
  EXPECT_EQ(JsonString(failed, "error", "code"), "transient_error");
  EXPECT_EQ(JsonInt(failed, "attempts"), 2);
  EXPECT_EQ(History(failed).size(), 1u) << failed;

  // A failure that is not retryable runs once.
  const std::string permanent = Submit(*client, R"({"type":"flaky","input":"permanent"})");
  const std::string refused = WaitTerminal(*client, permanent, 40);
  EXPECT_EQ(JsonString(refused, "error", "code"), "invalid_input") << refused;
  EXPECT_EQ(JsonInt(refused, "attempts"), 1);
  EXPECT_TRUE(History(refused).empty()) << refused;

  // Three retries in all: two of "a", one of "b".
  const std::string metrics = ScrapeMetrics(
      fmt::format("http://127.0.0.1:{}", LoggedMetricsPort(stack.broker().ReadLog())));
  EXPECT_EQ(MetricValue(metrics, R"(batchq_jobs_retried_total{type="flaky"})"), 3) << metrics;

  const auto bad =
      client->PostJson("/v1/jobs", R"({"type":"flaky","input":"c:0","max_retries":21})");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("max_retries"), std::string::npos) << bad->body;
}

TEST(RetryTest, RetryRouteRunsAnEndedJobAgainUnderItsIdAndRefusesTheOthers) {
  Stack stack(FlakyStack());
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  const std::string alpha = stack.CreateKey("alpha", "submit,read,cancel");
  const std::string reader = stack.CreateKey("alpha", "read");
  const std::string beta = stack.CreateKey("beta", "submit,read");
  auto client = stack.Client(alpha);

  // Fails once with no retries allowed: dead, then run again by hand, it succeeds.
  const std::string id = Submit(*client, R"({"type":"flaky","input":"d:1","max_retries":0})");
  const std::string dead = WaitTerminal(*client, id, 40);
  ASSERT_EQ(JsonString(dead, "status"), "failed") << dead;

  EXPECT_EQ(stack.Client(reader)->PostJson("/v1/jobs/" + id + ":retry", "{}")->status, 403);
  EXPECT_EQ(stack.Client(beta)->PostJson("/v1/jobs/" + id + ":retry", "{}")->status, 404)
      << "another tenant's job is not found";
  const auto retried = client->PostJson("/v1/jobs/" + id + ":retry", "{}");
  ASSERT_TRUE(retried);
  ASSERT_EQ(retried->status, 202) << retried->body;
  EXPECT_EQ(JsonString(retried->body, "id"), id);
  const std::string again = WaitTerminal(*client, id, 40);
  ASSERT_EQ(JsonString(again, "status"), "succeeded") << again << stack.Logs();
  EXPECT_EQ(JsonInt(again, "attempts"), 2);
  EXPECT_EQ(JsonInt(again, "result", "runs"), 2);
  const auto history = History(again);
  ASSERT_EQ(history.size(), 1u) << again;
  EXPECT_EQ(history[0].attempt, 1);
  EXPECT_EQ(history[0].code, "transient_error");
  EXPECT_TRUE(JsonString(again, "error", "code").empty()) << "the old error is gone";

  // A succeeded job is not retried; nor is a job that runs or waits.
  const auto succeeded = client->PostJson("/v1/jobs/" + id + ":retry", "{}");
  ASSERT_TRUE(succeeded);
  EXPECT_EQ(succeeded->status, 409);
  EXPECT_EQ(JsonString(succeeded->body, "error", "code"), "not_retryable");
  EXPECT_EQ(client->PostJson("/v1/jobs/nonexistent0000000000:retry", "{}")->status, 404);
  EXPECT_EQ(client->Get("/v1/jobs/" + id + ":retry")->status, 405);

  // A cancelled job is queued again too ("idle" has no worker, so it stays queued).
  const std::string cancel_me = Submit(*client, R"({"type":"idle","input":1})");
  const auto cancelled = client->Delete("/v1/jobs/" + cancel_me);
  ASSERT_TRUE(cancelled);
  ASSERT_EQ(cancelled->status, 200) << cancelled->body;
  const auto requeued = client->PostJson("/v1/jobs/" + cancel_me + ":retry", "{}");
  ASSERT_TRUE(requeued);
  ASSERT_EQ(requeued->status, 202) << requeued->body;
  EXPECT_EQ(JsonString(requeued->body, "status"), "queued");
  EXPECT_TRUE(JsonString(requeued->body, "cancelled_by").empty()) << requeued->body;
  const auto cancelled_history = History(requeued->body);
  ASSERT_EQ(cancelled_history.size(), 1u) << requeued->body;
  EXPECT_EQ(cancelled_history[0].status, "cancelled");
  EXPECT_EQ(cancelled_history[0].code, "cancelled");
  const auto waiting = client->PostJson("/v1/jobs/" + cancel_me + ":retry", "{}");
  ASSERT_TRUE(waiting);
  EXPECT_EQ(waiting->status, 409) << "a queued job is not retried: " << waiting->body;
  EXPECT_EQ(client->Delete("/v1/jobs/" + cancel_me)->status, 200)
      << "the broker holds it again, and lets it go";

  // The CLI does the same.
  std::string out;
  EXPECT_EQ(RunCommand({BATCHQ_CLI_BIN, "--url", stack.url(), "--api-key-file",
                        stack.admin_key_file(), "retry", cancel_me},
                       &out),
            0)
      << out;
  EXPECT_EQ(JsonString(client->Get("/v1/jobs/" + cancel_me)->body, "status"), "queued");
  EXPECT_NE(RunCommand({BATCHQ_CLI_BIN, "--url", stack.url(), "--api-key-file",
                        stack.admin_key_file(), "retry", cancel_me},
                       &out),
            0)
      << "a queued job is refused: " << out;
}

TEST(RetryTest, TheHistoryKeepsTheNewestAttemptsUpToItsBound) {
  Stack stack(StackOptions{.workers = 0});
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  RoleStores roles(stack);
  auto& [gateway_redis, broker_redis, worker_redis, gateway, broker, worker] = roles;
  const std::uint64_t epoch = roles.Epoch();

  NewJob job;
  job.id = fmt::format("hist-{}", NowWallMicros().count());
  job.type = "upper";
  job.tenant = "acme";
  job.input = "\"x\"";
  job.created = NowWallMicros();
  job.max_retries = static_cast<std::uint32_t>(kMaxHistory) + 5;
  job.retry_backoff_ms = 1;
  ASSERT_TRUE(gateway.Create(std::span(&job, 1)));
  const std::uint32_t runs = static_cast<std::uint32_t>(kMaxHistory) + 3;
  for (std::uint32_t attempt = 1; attempt <= runs; ++attempt) {
    const JobClaim claim{job.id, attempt};
    auto started =
        worker.Start(BatchStart{"b", 1, "w1", NowWallMicros(), NowWallMicros(), "full", epoch},
                     std::span(&claim, 1));
    ASSERT_TRUE(started && (*started)[0]) << "attempt " << attempt;
    JobOutcome outcome{.id = job.id, .attempt = attempt, .succeeded = false};
    outcome.error_code = ErrorCode::kTransientError;
    outcome.error_message = fmt::format("run {}", attempt);
    auto finished = worker.Finish(std::span(&outcome, 1));
    ASSERT_TRUE(finished) << finished.error().message;
    ASSERT_EQ((*finished)[0].kind, FinishMark::Kind::kRetrying) << "attempt " << attempt;
    EXPECT_GE((*finished)[0].retry_in.count(), 0);
  }
  auto record = gateway.Get(job.id);
  ASSERT_TRUE(record && *record);
  EXPECT_EQ((*record)->status, JobStatus::kQueued);
  EXPECT_EQ((*record)->retries, runs);
  const std::string& lines = (*record)->history;
  EXPECT_EQ(static_cast<std::size_t>(std::count(lines.begin(), lines.end(), '\n')) + 1,
            kMaxHistory);
  EXPECT_EQ(lines.find(R"({"attempt":4,)"), 0u) << "the oldest three were dropped: " << lines;
  EXPECT_NE(lines.find(fmt::format(R"("message":"run {}")", runs)), std::string::npos);

  // Past its max_retries, a retryable failure ends the job.
  const std::uint32_t last = runs + 1;
  ASSERT_TRUE(
      gateway_redis.Command({"HSET", gateway.JobKey(job.id), "max_retries", std::to_string(runs)}));
  const JobClaim claim{job.id, last};
  ASSERT_TRUE(
      worker.Start(BatchStart{"b", 1, "w1", NowWallMicros(), NowWallMicros(), "full", epoch},
                   std::span(&claim, 1)));
  JobOutcome outcome{.id = job.id, .attempt = last, .succeeded = false};
  outcome.error_code = ErrorCode::kTransientError;
  auto finished = worker.Finish(std::span(&outcome, 1));
  ASSERT_TRUE(finished);
  EXPECT_EQ((*finished)[0].kind, FinishMark::Kind::kWritten);
  EXPECT_EQ((*gateway.Get(job.id))->status, JobStatus::kFailed);
}

}  // namespace
}  // namespace batchq::test
