// Per-key limits and fair share with real processes: a tenant's queued-jobs cap
// (quota_exceeded), a key's request rate (rate_limited), a tenant's job served ahead
// of another tenant's flood, --auth none refused off loopback, and HTTPS with the CLI.
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/support/stack.h"

namespace batchq::test {
namespace {

using namespace std::chrono_literals;

std::string Batch(int count, const std::string& type) {
  std::string jobs;
  for (int i = 0; i < count; ++i) {
    jobs += fmt::format(R"({}{{"type":"{}","input":{}}})", i > 0 ? "," : "", type, i);
  }
  return R"({"jobs":[)" + jobs + "]}";
}

TEST(TenantLimitsTest, ATenantsQueuedCapRefusesWithQuotaExceededAndLeavesOthersAlone) {
  Stack stack(StackOptions{.workers = 0, .broker_args = {"--type", "idle"}});
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  auto capped = stack.Client(stack.CreateKey("capped", "submit,read", R"("max_queued":3)"));
  auto other = stack.Client(stack.CreateKey("other", "submit,read"));
  for (int i = 0; i < 3; ++i) {
    auto accepted = capped->PostJson("/v1/jobs", R"({"type":"idle","input":1})");
    ASSERT_TRUE(accepted);
    ASSERT_EQ(accepted->status, 202) << accepted->body;
  }
  auto refused = capped->PostJson("/v1/jobs", R"({"type":"idle","input":1})");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 429) << refused->body;
  EXPECT_EQ(JsonString(refused->body, "error", "code"), "quota_exceeded") << refused->body;
  EXPECT_FALSE(refused->Header("Retry-After").empty());
  // The refused job left nothing behind: the tenant lists its three.
  auto listed = capped->Get("/v1/jobs?limit=10");
  ASSERT_TRUE(listed);
  std::size_t jobs = 0;
  for (auto at = listed->body.find(R"("id":)"); at != std::string::npos;
       at = listed->body.find(R"("id":)", at + 1)) {
    ++jobs;
  }
  EXPECT_EQ(jobs, 3u) << listed->body;
  auto theirs = other->PostJson("/v1/jobs", R"({"type":"idle","input":1})");
  ASSERT_TRUE(theirs);
  EXPECT_EQ(theirs->status, 202) << "another tenant is not held by the cap";
  // The tenant label is on the gateway's metrics.
  const std::string metrics = ScrapeMetrics(stack.url(), stack.admin_key());
  EXPECT_NE(metrics.find(R"(batchq_tenant_requests_total{code="429",tenant="capped"} 1)"),
            std::string::npos)
      << metrics.substr(0, 4000);
}

TEST(TenantLimitsTest, AKeyOverItsRateGets429RateLimitedWithRetryAfter) {
  Stack stack(StackOptions{.workers = 1});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  // Two requests of burst, then one per 100 s: the third is refused whatever the pace.
  auto slow = stack.Client(stack.CreateKey("slow", "read", R"("rate":0.01,"burst":2)"));
  for (int i = 0; i < 2; ++i) {
    auto ok = slow->Get("/v1/types");
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200) << ok->body;
  }
  auto limited = slow->Get("/v1/types");
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(JsonString(limited->body, "error", "code"), "rate_limited");
  EXPECT_GE(std::stoi(limited->Header("Retry-After")), 1);
  // Another key is not slowed down by this one.
  auto admin = stack.Client()->Get("/v1/types");
  ASSERT_TRUE(admin);
  EXPECT_EQ(admin->status, 200);
}

TEST(TenantLimitsTest, ATenantsJobIsServedAheadOfAnotherTenantsFlood) {
  // One worker, 20 ms per batch of up to 8: the flood of 2,000 takes about 5 s.
  Stack stack(StackOptions{.workers = 1,
                           .broker_args = {"--type", "sleep:max_batch_size=8,max_delay_ms=1"},
                           .worker_args = {"--sleep-fixed-us", "20000"}});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto flood = stack.Client(stack.CreateKey("flood", "submit,read"));
  auto small = stack.Client(stack.CreateKey("small", "submit,read"));
  for (int i = 0; i < 2; ++i) {
    auto accepted = flood->PostJson("/v1/jobs:batch", Batch(1000, "sleep"));
    ASSERT_TRUE(accepted && accepted->status == 202);
    ASSERT_EQ(accepted->body.find("error"), std::string::npos) << accepted->body.substr(0, 500);
  }
  auto mine = small->PostJson("/v1/jobs", R"({"type":"sleep","input":0})");
  ASSERT_TRUE(mine && mine->status == 202);
  const std::string id = JsonString(mine->body, "id");
  ASSERT_NE(WaitTerminal(*small, id).find("succeeded"), std::string::npos);
  // When it finished, the flood's last 200 jobs were still queued: it did not wait
  // behind them (first in, first out would have run all 2,000 first).
  auto newest = stack.Client()->Get("/v1/jobs?limit=200&tenant=flood");
  ASSERT_TRUE(newest && newest->status == 200);
  std::size_t queued = 0;
  for (auto at = newest->body.find(R"("status":"queued")"); at != std::string::npos;
       at = newest->body.find(R"("status":"queued")", at + 1)) {
    ++queued;
  }
  std::cout << "of the flood's newest 200 jobs, queued when the small tenant's job ended: "
            << queued << "\n";
  EXPECT_EQ(queued, 200u);
}

TEST(TenantLimitsTest, AuthNoneIsRefusedOffLoopbackWithASentence) {
  std::string dir = std::filesystem::temp_directory_path() / "bq-auth-none-XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  ChildProcess gateway({BATCHQ_GATEWAY_BIN, "--auth", "none", "--listen", "0.0.0.0", "--port", "0"},
                       dir + "/gateway.log");
  const int status = gateway.Wait(10s);
  ASSERT_TRUE(WIFEXITED(status)) << gateway.ReadLog();
  EXPECT_EQ(WEXITSTATUS(status), 2);
  EXPECT_NE(gateway.ReadLog().find("only allowed on a loopback address"), std::string::npos)
      << gateway.ReadLog();
  std::filesystem::remove_all(dir);
}

TEST(TenantLimitsTest, HttpsServesTheApiAndTheCliTrustsOnlyTheGivenCa) {
  // A CA and a server certificate for "localhost", made here with openssl.
  std::string dir = std::filesystem::temp_directory_path() / "bq-tls-XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  std::string out;
  ASSERT_EQ(RunCommand({BATCHQ_OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                        "1", "-subj", "/CN=batchq test CA", "-keyout", dir + "/ca.key", "-out",
                        dir + "/ca.pem"},
                       &out),
            0);
  ASSERT_EQ(
      RunCommand({BATCHQ_OPENSSL, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                  "-keyout", dir + "/server.key", "-out", dir + "/server.csr"},
                 &out),
      0);
  { std::ofstream(dir + "/san.ext") << "subjectAltName=DNS:localhost\n"; }
  ASSERT_EQ(RunCommand({BATCHQ_OPENSSL, "x509", "-req", "-in", dir + "/server.csr", "-CA",
                        dir + "/ca.pem", "-CAkey", dir + "/ca.key", "-CAcreateserial", "-days", "1",
                        "-extfile", dir + "/san.ext", "-out", dir + "/server.pem"},
                       &out),
            0);
  Stack stack(StackOptions{
      .workers = 1,
      .gateway_args = {"--tls-cert", dir + "/server.pem", "--tls-key", dir + "/server.key"}});
  const std::string port = stack.url().substr(stack.url().rfind(':') + 1);
  const std::string https = "https://localhost:" + port;
  // Readiness over TLS, trusting the test CA.
  ASSERT_TRUE(WaitFor([&] {
    std::string text;
    return RunCommand({BATCHQ_CLI_BIN, "--url", https, "--cacert", dir + "/ca.pem",
                       "--api-key-file", stack.admin_key_file(), "types"},
                      &text) == 0;
  })) << stack.Logs();
  EXPECT_EQ(
      RunCommand({BATCHQ_CLI_BIN, "--url", https, "--cacert", dir + "/ca.pem", "--api-key-file",
                  stack.admin_key_file(), "submit", "upper", "over tls", "--wait"},
                 &out),
      0);
  EXPECT_NE(out.find("OVER TLS"), std::string::npos) << out;
  // The bench's event loops (a closed loop of submit, then long-poll) speak TLS as well.
  EXPECT_EQ(RunCommand({BATCHQ_CLI_BIN, "--url", https, "--cacert", dir + "/ca.pem",
                        "--api-key-file", stack.admin_key_file(), "--output", "json", "bench",
                        "--type", "upper", "--count", "12", "--connections", "3", "--closed-loop"},
                       &out),
            0)
      << out;
  EXPECT_EQ(JsonInt(out, "answers", "202"), 12) << out;
  EXPECT_EQ(JsonInt(out, "succeeded"), 12) << out;
  EXPECT_EQ(RunCommand({BATCHQ_CLI_BIN, "--url", https, "--api-key-file", stack.admin_key_file(),
                        "--output", "json", "bench", "--type", "upper", "--count", "2"},
                       &out),
            4)
      << out;
  EXPECT_NE(out.find("TLS with localhost:" + port + " failed"), std::string::npos) << out;
  // Without the CA the certificate is not trusted; plain HTTP gets no answer.
  EXPECT_EQ(RunCommand(
                {BATCHQ_CLI_BIN, "--url", https, "--api-key-file", stack.admin_key_file(), "types"},
                &out),
            4);
  EXPECT_EQ(RunCommand({BATCHQ_CLI_BIN, "--url", "http://localhost:" + port, "--api-key-file",
                        stack.admin_key_file(), "types"},
                       &out),
            4);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace batchq::test
