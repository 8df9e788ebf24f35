// batchq spread over "hosts": network namespaces on one bridged LAN (NetnsLan), every
// process on its host's own address, every link TCP with CURVE. Redis and both brokers
// on one host, two gateways on another, workers on two more. A job submitted through one
// gateway is long-polled through the other; a worker host that dies whole loses nothing;
// a worker host whose key is on the wrong allow-list gets nothing. Needs root and `ip`;
// skips with the reason otherwise.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "tests/support/netns_lan.h"
#include "tests/support/stack.h"

namespace batchq::test {
namespace {

class HostsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string why = NetnsLan::Unavailable();
    if (!why.empty()) GTEST_SKIP() << why;
  }

  // A stack with no workers yet, its Redis and brokers on "data" and its gateway on
  // "gateways"; workers are added per host with AddWorkerOn.
  void StartStack(const std::vector<std::string>& hosts, StackOptions options) {
    lan_ = std::make_unique<NetnsLan>(hosts);
    options.workers = 0;
    options.data_host = lan_->host("data");
    options.gateway_host = lan_->host("gateways");
    stack_ = std::make_unique<Stack>(std::move(options));
  }

  std::size_t AddWorkerOn(const std::string& host, const std::string& curve_secret_file = "") {
    stack_->options().worker_host = lan_->host(host);
    return stack_->AddWorker({}, curve_secret_file);
  }

  std::unique_ptr<HttpClient> ClientOf(const std::string& url) const {
    HttpClientOptions options;
    options.timeout = std::chrono::seconds(70);
    options.bearer_token = stack_->admin_key();
    auto client = HttpClient::Connect(url, std::move(options));
    if (!client) throw std::runtime_error(client.error().message);
    return std::move(*client);
  }

  std::vector<std::string> Submit(HttpClient& client, const std::string& body, int count) {
    std::vector<std::string> ids;
    for (int i = 0; i < count; ++i) {
      auto response = client.PostJson("/v1/jobs", body);
      EXPECT_TRUE(response && response->status == 202)
          << (response ? response->body : response.error().message);
      if (response && response->status == 202) ids.push_back(JsonString(response->body, "id"));
    }
    return ids;
  }

  // Declared first, so the stack's processes stop before their namespaces go.
  std::unique_ptr<NetnsLan> lan_;
  std::unique_ptr<Stack> stack_;
};

const std::vector<std::string> kFourHosts = {"data", "gateways", "workers-a", "workers-b"};

TEST_F(HostsTest, AJobSubmittedThroughOneGatewayIsLongPolledThroughTheOther) {
  StartStack(kFourHosts,
             StackOptions{.brokers = 2,
                          .broker_args = {"--type", "sleep:max_batch_size=1", "--type", "upper"},
                          .worker_args = {"--sleep-fixed-us", "300000"}});
  AddWorkerOn("workers-a");
  AddWorkerOn("workers-b");
  ASSERT_TRUE(stack_->WaitReady(2)) << stack_->Logs();
  auto [gateway_b, url_b] = stack_->StartExtraGateway("gateway-b");
  auto through_a = stack_->Client();
  auto through_b = ClientOf(url_b);
  ASSERT_NE(stack_->url(), url_b);

  // Each job takes 300 ms, so at least the first long-poll through B is sent while its
  // job runs; each must come back with the job finished, woken by the completion
  // notice of a job that A accepted.
  std::set<std::string> workers;
  for (const auto& id : Submit(*through_a, R"({"type":"sleep","input":1})", 4)) {
    auto job = through_b->Get(fmt::format("/v1/jobs/{}?wait_ms=20000", id));
    ASSERT_TRUE(job) << job.error().message;
    ASSERT_EQ(job->status, 200) << job->body;
    EXPECT_EQ(JsonString(job->body, "status"), "succeeded") << job->body << stack_->Logs();
    workers.insert(JsonString(job->body, "worker"));
  }
  for (const std::string& name : workers) EXPECT_TRUE(name == "w0" || name == "w1") << name;

  // And the other way round, with a result to compare.
  auto accepted = through_b->PostJson("/v1/jobs", R"({"type":"upper","input":"two hosts"})");
  ASSERT_TRUE(accepted) << accepted.error().message;
  ASSERT_EQ(accepted->status, 202) << accepted->body;
  const std::string done = WaitTerminal(*through_a, JsonString(accepted->body, "id"));
  EXPECT_EQ(JsonString(done, "result"), "TWO HOSTS") << done << stack_->Logs();
  EXPECT_EQ(gateway_b.Stop(), 0) << gateway_b.ReadLog();
}

TEST_F(HostsTest, KillingEveryProcessOfAWorkerHostLosesNothing) {
  StartStack(kFourHosts,
             StackOptions{.brokers = 2,
                          .broker_args = {"--heartbeat-ms", "100", "--type",
                                          "sleep:max_batch_size=4,max_delay_ms=1"},
                          .worker_args = {"--heartbeat-ms", "100", "--sleep-fixed-us", "200000"}});
  AddWorkerOn("workers-a");  // w0
  AddWorkerOn("workers-a");  // w1
  AddWorkerOn("workers-b");  // w2
  ASSERT_TRUE(stack_->WaitReady(3)) << stack_->Logs();
  auto client = stack_->Client();
  const std::vector<std::string> ids = Submit(*client, R"({"type":"sleep","input":1})", 40);
  ASSERT_EQ(ids.size(), 40u);

  // Once host A is running something, every process on it dies at once.
  ASSERT_TRUE(WaitFor([&] {
    for (const auto& id : ids) {
      auto job = client->Get("/v1/jobs/" + id);
      if (!job) continue;
      const std::string worker = JsonString(job->body, "worker");
      if (JsonString(job->body, "status") == "running" && (worker == "w0" || worker == "w1")) {
        return true;
      }
    }
    return false;
  })) << stack_->Logs();
  EXPECT_EQ(lan_->KillEverything("workers-a"), 2);
  stack_->worker(0).Kill();  // reaps them
  stack_->worker(1).Kill();

  int rerun = 0;
  for (const auto& id : ids) {
    const std::string job = WaitTerminal(*client, id);
    ASSERT_EQ(JsonString(job, "status"), "succeeded") << id << " " << job << stack_->Logs();
    if (JsonInt(job, "attempts") > 1) {
      ++rerun;
      EXPECT_EQ(JsonString(job, "worker"), "w2") << job;
    }
  }
  EXPECT_GT(rerun, 0) << "host A's batch in flight should have run again on host B";
  EXPECT_TRUE(stack_->WaitReady(1)) << "the dead host's workers are still listed";
}

// The broker's count of CURVE handshakes on its worker port with this verdict.
double WorkerHandshakes(const std::string& metrics, const std::string& verdict) {
  const std::string name =
      fmt::format(R"(batchq_broker_peer_handshakes_total{{port="worker",verdict="{}"}} )", verdict);
  const auto at = metrics.find(name);
  return at == std::string::npos ? 0 : std::stod(metrics.substr(at + name.size()));
}

TEST_F(HostsTest, AWorkerHostOnTheWrongAllowListGetsNothing) {
  StartStack({"data", "gateways", "stranger", "workers-b"},
             StackOptions{.broker_args = {"--metrics-listen", "0.0.0.0:0"}});
  ASSERT_TRUE(stack_->WaitReady(0)) << stack_->Logs();
  // One key no list holds, and the gateways' key: listed, but for the other port.
  const std::string unlisted = stack_->dir() + "/stranger";
  ASSERT_EQ(RunCommand({BATCHQ_CLI_BIN, "keygen", unlisted}, nullptr), 0);
  const std::size_t first = AddWorkerOn("stranger", unlisted + ".key");
  const std::size_t second = AddWorkerOn("stranger", stack_->gateway_secret_file());
  // Both have knocked and been turned away, by the broker on the other host.
  for (const std::size_t stranger : {first, second}) {
    ASSERT_TRUE(WaitFor([&] {
      return stack_->worker(stranger).ReadLog().find("refused the connection") != std::string::npos;
    })) << stack_->Logs();
  }
  EXPECT_NE(stack_->broker().ReadLog().find("refused a peer from " +
                                            lan_->host("stranger").address + " on the worker port"),
            std::string::npos)
      << stack_->broker().ReadLog();
  const std::string metrics_url = fmt::format("http://{}:{}", lan_->host("data").address,
                                              LoggedMetricsPort(stack_->broker().ReadLog()));
  EXPECT_GE(WorkerHandshakes(ScrapeMetrics(metrics_url), "refused"), 2);

  auto client = stack_->Client();
  const std::vector<std::string> ids =
      Submit(*client, R"({"type":"upper","input":"only for the listed"})", 10);
  auto types = client->Get("/v1/types");
  ASSERT_TRUE(types);
  EXPECT_NE(types->body.find(R"("workers":[])"), std::string::npos) << types->body;
  for (const auto& id : ids) {
    auto job = client->Get("/v1/jobs/" + id);
    ASSERT_TRUE(job);
    EXPECT_EQ(JsonString(job->body, "status"), "queued") << job->body;
  }

  // A listed worker on another host gets every one of them.
  const std::size_t listed = AddWorkerOn("workers-b");
  for (const auto& id : ids) {
    const std::string job = WaitTerminal(*client, id);
    EXPECT_EQ(JsonString(job, "status"), "succeeded") << job << stack_->Logs();
    EXPECT_EQ(JsonString(job, "worker"), fmt::format("w{}", listed)) << job;
  }
  EXPECT_EQ(WorkerHandshakes(ScrapeMetrics(metrics_url), "allowed"), 1)
      << "only the listed worker's handshake may pass";
}

}  // namespace
}  // namespace batchq::test
