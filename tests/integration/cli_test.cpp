// The batchq CLI against a real stack: output and exit codes scripts rely on.
#include <regex>

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <gtest/gtest.h>

#include "tests/support/stack.h"

namespace batchq::test {
namespace {

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stack_ = new Stack(StackOptions{.workers = 1});
    ASSERT_TRUE(stack_->WaitReady(1)) << stack_->Logs();
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  static int Cli(std::vector<std::string> args, std::string* out) {
    args.insert(args.begin(), {BATCHQ_CLI_BIN, "--url", stack_->url(), "--api-key-file",
                               stack_->admin_key_file()});
    return RunCommand(args, out);
  }
  static Stack* stack_;
};
Stack* CliTest::stack_ = nullptr;

TEST_F(CliTest, SubmitWaitPrintsTheResult) {
  std::string out;
  EXPECT_EQ(Cli({"submit", "upper", "hello cli", "--wait"}, &out), 0) << out;
  EXPECT_NE(out.find("HELLO CLI"), std::string::npos) << out;
}

TEST_F(CliTest, SubmitThenStatusAndWaitById) {
  std::string id;
  ASSERT_EQ(Cli({"submit", "upper", "by id"}, &id), 0) << id;
  while (!id.empty() && (id.back() == '\n' || id.back() == '\r')) id.pop_back();
  ASSERT_EQ(id.size(), 32u) << id;
  std::string out;
  EXPECT_EQ(Cli({"wait", id}, &out), 0) << out;
  EXPECT_NE(out.find("BY ID"), std::string::npos) << out;
  EXPECT_EQ(Cli({"--output", "json", "status", id}, &out), 0) << out;
  EXPECT_EQ(JsonString(out, "status"), "succeeded") << out;
}

TEST_F(CliTest, StatusOfManyJobsIsOneBatchCallWithALinePerJob) {
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    std::string id;
    ASSERT_EQ(Cli({"--output", "json", "submit", "upper", "many", "--wait"}, &id), 0) << id;
    ids.push_back(JsonString(id, "id"));
  }
  const std::string unknown = "0123456789abcdef0123456789abcdef";
  std::string out;
  EXPECT_EQ(Cli({"status", ids[0], unknown, ids[1], ids[2]}, &out), 3)
      << "one job was not found: " << out;
  for (const auto& id : ids) {
    EXPECT_NE(out.find(id + " succeeded type=upper attempts=1"), std::string::npos) << out;
  }
  EXPECT_NE(out.find(unknown + ": not_found"), std::string::npos) << out;
  EXPECT_EQ(Cli({"--output", "json", "status", ids[0], ids[1]}, &out), 0) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << "one record per line: " << out;
  // Each many-job status was one call to /v1/batch, none a GET per job.
  auto metrics = stack_->Client()->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(
      MetricValue(metrics->body, R"(batchq_http_requests_total{code="200",route="/v1/batch"})"), 2)
      << metrics->body;
}

TEST_F(CliTest, JsonInputIsSentAsJson) {
  std::string out;
  // 42 is JSON, not a string: upper fails that item, and the CLI says so with exit 1.
  EXPECT_EQ(Cli({"submit", "upper", "42", "--wait"}, &out), 1) << out;
  EXPECT_NE(out.find("invalid_input"), std::string::npos) << out;
  EXPECT_EQ(Cli({"submit", "upper", "42", "--string", "--wait"}, &out), 0) << out;
}

TEST_F(CliTest, ExitCodesForRefusalsAndOutages) {
  std::string out;
  EXPECT_EQ(Cli({"submit", "teleport", "x"}, &out), 3) << out;
  EXPECT_EQ(Cli({"status", "0123456789abcdef0123456789abcdef"}, &out), 3) << out;
  EXPECT_EQ(Cli({"frobnicate"}, &out), 2) << out;
  EXPECT_EQ(RunCommand({BATCHQ_CLI_BIN, "--url", "http://127.0.0.1:1", "types"}, &out), 4) << out;
  // Nothing was sent, so no job can have been made: no word of an idempotency key.
  EXPECT_EQ(
      RunCommand({BATCHQ_CLI_BIN, "--url", "http://127.0.0.1:1", "submit", "upper", "x"}, &out), 4)
      << out;
  EXPECT_EQ(out.find("idempotency-key"), std::string::npos) << out;
}

// The same submit with the same --idempotency-key names the same job; the key with
// another input is refused (422, exit 3).
TEST_F(CliTest, TheSameSubmitWithTheSameIdempotencyKeyNamesTheSameJob) {
  std::string first, again, other;
  ASSERT_EQ(Cli({"--output", "json", "submit", "upper", "once", "--idempotency-key", "cli-key-1"},
                &first),
            0)
      << first;
  ASSERT_EQ(Cli({"--output", "json", "submit", "upper", "once", "--idempotency-key", "cli-key-1"},
                &again),
            0)
      << again;
  EXPECT_EQ(JsonString(again, "id"), JsonString(first, "id")) << first << again;
  EXPECT_EQ(Cli({"submit", "upper", "another", "--idempotency-key", "cli-key-1"}, &other), 3)
      << other;
  EXPECT_NE(other.find("idempotency_conflict"), std::string::npos) << other;
  // Without the flag each submit gets a key of its own: two submits, two jobs.
  ASSERT_EQ(Cli({"--output", "json", "submit", "upper", "once"}, &first), 0) << first;
  ASSERT_EQ(Cli({"--output", "json", "submit", "upper", "once"}, &again), 0) << again;
  EXPECT_NE(JsonString(again, "id"), JsonString(first, "id")) << first << again;
}

TEST_F(CliTest, KeysAreCreatedListedUsedAndRevoked) {
  const std::regex key_text("bq_[0-9a-f]{12}_[0-9a-f]{64}");
  std::string out;
  ASSERT_EQ(Cli({"keys", "create", "--tenant", "cli-team", "--scopes", "submit,read", "--rate",
                 "100", "--max-queued", "50"},
                &out),
            0)
      << out;
  std::smatch found;
  ASSERT_TRUE(std::regex_search(out, found, key_text)) << out;
  const std::string key = found.str();
  const std::string id = key.substr(3, 12);
  // The new key works for what its scopes allow, and only that.
  auto as_key = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {BATCHQ_CLI_BIN, "--url", stack_->url(), "--api-key", key});
    return RunCommand(args, &out);
  };
  EXPECT_EQ(as_key({"submit", "upper", "with a tenant key", "--wait"}), 0) << out;
  EXPECT_NE(out.find("WITH A TENANT KEY"), std::string::npos) << out;
  EXPECT_EQ(as_key({"keys", "list"}), 3) << out;
  EXPECT_NE(out.find("forbidden"), std::string::npos) << out;
  // Without any key the gateway refuses, and the CLI says so.
  EXPECT_EQ(RunCommand({BATCHQ_CLI_BIN, "--url", stack_->url(), "types"}, &out), 3) << out;
  EXPECT_NE(out.find("unauthenticated"), std::string::npos) << out;

  ASSERT_EQ(Cli({"--output", "json", "keys", "create", "--tenant", "cli-team", "--scopes", "read",
                 "--expires-in", "30d"},
                &out),
            0)
      << out;
  EXPECT_EQ(JsonString(out, "tenant"), "cli-team") << out;
  EXPECT_TRUE(std::regex_match(JsonString(out, "key"), key_text)) << out;
  EXPECT_FALSE(JsonString(out, "expires_at").empty()) << out;
  EXPECT_EQ(
      Cli({"keys", "create", "--tenant", "x", "--scopes", "read", "--expires-in", "soon"}, &out), 2)
      << out;

  EXPECT_EQ(Cli({"keys", "list"}, &out), 0) << out;
  EXPECT_NE(out.find(id), std::string::npos) << out;
  EXPECT_EQ(out.find(key.substr(16)), std::string::npos) << "a secret was listed";
  EXPECT_EQ(Cli({"keys", "revoke", id}, &out), 0) << out;
  EXPECT_NE(out.find("revoked " + id), std::string::npos) << out;
  EXPECT_TRUE(WaitFor([&] { return as_key({"types"}) == 3; })) << out;
  EXPECT_NE(out.find("unauthenticated"), std::string::npos) << out;
  EXPECT_EQ(Cli({"keys", "revoke", "0123456789ab"}, &out), 3) << out;
}

TEST_F(CliTest, TypesListsTheBuiltInTypes) {
  std::string out;
  EXPECT_EQ(Cli({"types"}, &out), 0) << out;
  EXPECT_NE(out.find("upper"), std::string::npos);
  EXPECT_NE(out.find("sleep"), std::string::npos);
}

TEST_F(CliTest, WorkersListsTheLiveWorkerWithItsDeviceAndTypes) {
  std::string out;
  EXPECT_EQ(Cli({"workers"}, &out), 0) << out;
  EXPECT_NE(out.find("WORKER"), std::string::npos) << out;
  EXPECT_NE(out.find("w0"), std::string::npos) << out;
  EXPECT_NE(out.find("mlp"), std::string::npos) << out;
  EXPECT_NE(out.find("render"), std::string::npos) << out;
  EXPECT_EQ(Cli({"--output", "json", "workers"}, &out), 0) << out;
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.front(), '[') << out;
  EXPECT_NE(out.find(R"("name":"w0")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("device_memory_bytes":)"), std::string::npos) << out;
  EXPECT_EQ(RunCommand({BATCHQ_CLI_BIN, "--url", "http://127.0.0.1:1", "workers"}, &out), 4);
}

TEST_F(CliTest, ProgressIsPlainLinesWhenNotOnATerminal) {
  std::string out;
  EXPECT_EQ(Cli({"bench", "--type", "upper", "--count", "50", "--connections", "2"}, &out), 0)
      << out;
  EXPECT_NE(out.find("submit 50/50"), std::string::npos) << out;
  EXPECT_NE(out.find("finish 50/50"), std::string::npos) << out;
  EXPECT_EQ(out.find('\r'), std::string::npos) << "no redraws off a terminal";
  EXPECT_EQ(Cli({"submit", "upper", "progress"}, &out), 0) << out;
  const std::string id = out.substr(out.rfind(' ') + 1, 32);
  EXPECT_EQ(Cli({"wait", id}, &out), 0) << out;
  EXPECT_NE(out.find("job " + id + " succeeded after"), std::string::npos) << out;
  EXPECT_NE(out.find("PROGRESS"), std::string::npos) << out;
}

TEST_F(CliTest, BenchRunsABoundedLoadAndLosesNothing) {
  std::string out;
  EXPECT_EQ(
      Cli({"--output", "json", "bench", "--type", "upper", "--count", "300", "--connections", "3"},
          &out),
      0)
      << out;
  EXPECT_EQ(JsonInt(out, "accepted"), 300) << out;
  EXPECT_EQ(JsonInt(out, "succeeded"), 300) << out;
  EXPECT_EQ(JsonInt(out, "unfinished"), 0) << out;
}

// An open loop (each request sent at its slot, off a timer, from two event loops) and
// :batch submits (from one, with a short last request) lose nothing either, and count
// each request's answer.
TEST_F(CliTest, BenchOpenLoopAndBatchSubmitsLoseNothing) {
  std::string out;
  ASSERT_EQ(Cli({"--output", "json", "bench", "--type", "upper", "--count", "60", "--connections",
                 "5", "--loop-threads", "2", "--rate", "600"},
                &out),
            0)
      << out;
  EXPECT_EQ(JsonInt(out, "submitted"), 60) << out;
  EXPECT_EQ(JsonInt(out, "answers", "202"), 60) << out;
  EXPECT_EQ(JsonInt(out, "succeeded"), 60) << out;
  EXPECT_EQ(JsonInt(out, "unfinished"), 0) << out;
  ASSERT_EQ(Cli({"--output", "json", "bench", "--type", "upper", "--count", "30", "--connections",
                 "2", "--loop-threads", "1", "--jobs-per-request", "7"},
                &out),
            0)
      << out;
  EXPECT_EQ(JsonInt(out, "submitted"), 30) << out;
  EXPECT_EQ(JsonInt(out, "accepted"), 30) << out;
  EXPECT_EQ(JsonInt(out, "answers", "202"), 5) << out << "requests of 7, 7, 7, 7 and 2 jobs";
  EXPECT_EQ(JsonInt(out, "succeeded"), 30) << out;
}

// A gateway that cannot be reached fails the bench, with the reason.
TEST_F(CliTest, BenchAgainstNoGatewayFailsWithTheReason) {
  std::string out;
  EXPECT_NE(RunCommand({BATCHQ_CLI_BIN, "--url", "http://127.0.0.1:1", "bench", "--type", "upper",
                        "--count", "4", "--connections", "2"},
                       &out),
            0);
  EXPECT_NE(out.find("Cannot connect to 127.0.0.1:1"), std::string::npos) << out;
}

// The bench measures the service, so it does not read back the jobs it already saw end:
// a closed loop long-polls each job once, and submits that waited are never read again.
TEST_F(CliTest, BenchReadsNoJobAgainThatItSawEnd) {
  const auto job_reads = [] {
    return MetricValue(ScrapeMetrics(stack_->url(), stack_->admin_key()),
                       R"(batchq_http_requests_total{code="200",route="/v1/jobs/{id}"})");
  };
  const double before = std::max(0.0, job_reads());
  std::string out;
  ASSERT_EQ(Cli({"--output", "json", "bench", "--type", "upper", "--count", "40", "--connections",
                 "2", "--closed-loop"},
                &out),
            0)
      << out;
  EXPECT_EQ(JsonInt(out, "succeeded"), 40) << out;
  const double after_loop = job_reads();
  EXPECT_EQ(after_loop - before, 40) << "one long-poll per job, and no read-back";
  ASSERT_EQ(Cli({"--output", "json", "bench", "--type", "upper", "--count", "40", "--connections",
                 "2", "--submit-wait-ms", "30000"},
                &out),
            0)
      << out;
  EXPECT_EQ(JsonInt(out, "succeeded"), 40) << out;
  EXPECT_EQ(JsonInt(out, "unfinished"), 0) << out;
  EXPECT_EQ(job_reads(), after_loop) << "every submit was answered with its ended job";
}

// A gateway that takes the connection and the request and never answers: the CLI gives
// up after its HTTP timeout, with the reason and exit code 4, instead of waiting for good.
TEST(CliTimeoutTest, AGatewayThatNeverAnswersFailsAfterTheHttpTimeout) {
  // Listening, and never accepting: the kernel completes the connection and takes the
  // request, and no answer comes.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor silent(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  const std::string url = fmt::format("http://127.0.0.1:{}", silent.local_endpoint().port());
  std::string out;
  EXPECT_EQ(RunCommand({BATCHQ_CLI_BIN, "--url", url, "--http-timeout-s", "1", "types"}, &out), 4)
      << out;
  EXPECT_NE(out.find("timeout"), std::string::npos) << out;
  // A submit whose answer never came may have been taken: the error names the key that
  // makes sending it again safe.
  EXPECT_EQ(RunCommand({BATCHQ_CLI_BIN, "--url", url, "--http-timeout-s", "1", "submit", "upper",
                        "x", "--idempotency-key", "lost-answer-1"},
                       &out),
            4)
      << out;
  EXPECT_NE(out.find("--idempotency-key lost-answer-1"), std::string::npos) << out;
}

// A job that takes longer than the HTTP timeout still ends a --wait: the submit and the
// long-polls ask the gateway to answer within half the timeout, and poll again.
TEST(CliTimeoutTest, AWaitLongerThanTheHttpTimeoutLongPollsWithinIt) {
  Stack stack({.workers = 1, .worker_args = {"--sleep-fixed-us", "3000000"}});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  std::string out;
  EXPECT_EQ(RunCommand({BATCHQ_CLI_BIN, "--url", stack.url(), "--api-key-file",
                        stack.admin_key_file(), "--output", "json", "--http-timeout-s", "2",
                        "submit", "sleep", "null", "--wait", "--timeout-s", "60"},
                       &out),
            0)
      << out;
  EXPECT_EQ(JsonString(out, "status"), "succeeded") << out;
}

}  // namespace
}  // namespace batchq::test
