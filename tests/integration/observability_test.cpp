// The committed Grafana dashboard against real metrics: Debian's Prometheus scrapes a
// real stack (gateway, broker, worker) and answers every query of
// docker/grafana/dashboards/batchq.json. Each metric the dashboard names must be one
// the processes really export, each query must parse, and each panel must show data.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include "tests/support/stack.h"

namespace batchq::test {
namespace {

using namespace std::chrono_literals;

std::string UrlEncode(std::string_view text) {
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct Panel {
  std::string title;
  std::vector<std::string> exprs;
};

std::vector<Panel> DashboardPanels() {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::vector<Panel> panels;
  const std::string text = ReadFile(BATCHQ_GRAFANA_DASHBOARD);
  if (parser.parse(text).get(root) != simdjson::SUCCESS) return panels;
  for (auto panel : root["panels"].get_array()) {
    Panel p;
    p.title = std::string(panel["title"].get_string().value());
    for (auto target : panel["targets"].get_array()) {
      p.exprs.emplace_back(target["expr"].get_string().value());
    }
    panels.push_back(std::move(p));
  }
  return panels;
}

// A Prometheus instant query: the number of series in the result, or -1 when the
// query failed (bad PromQL or no answer), with the reason in `error`.
int QueryCount(HttpClient& prometheus, const std::string& expr, std::string* error) {
  auto response = prometheus.Get("/api/v1/query?query=" + UrlEncode(expr));
  if (!response) {
    *error = "no answer";
    return -1;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(response->body).get(root) != simdjson::SUCCESS) {
    *error = response->body;
    return -1;
  }
  std::string_view status;
  if (root["status"].get(status) != simdjson::SUCCESS || status != "success") {
    *error = response->body;
    return -1;
  }
  simdjson::dom::array result;
  if (root["data"]["result"].get(result) != simdjson::SUCCESS) return 0;
  return static_cast<int>(result.size());
}

TEST(ObservabilityTest, EveryDashboardQueryWorksOnRealMetrics) {
  const std::vector<Panel> panels = DashboardPanels();
  ASSERT_GE(panels.size(), 10u) << "could not read " << BATCHQ_GRAFANA_DASHBOARD;

  // "idle" is served by no worker: a job with a short timeout there expires, so the
  // broker's own outcome counter has a sample too.
  Stack stack(
      {.workers = 1,
       .broker_args = {"--metrics-listen", "127.0.0.1:0", "--type", "upper", "--type", "idle"},
       .worker_args = {"--metrics-listen", "127.0.0.1:0", "--type", "upper"}});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  const int broker_port = LoggedMetricsPort(stack.broker().ReadLog());
  const int worker_port = LoggedMetricsPort(stack.worker(0).ReadLog());
  ASSERT_GT(broker_port, 0) << stack.Logs();
  ASSERT_GT(worker_port, 0) << stack.Logs();
  const std::string gateway_target = stack.url().substr(std::string("http://").size());
  const std::string broker_target = fmt::format("127.0.0.1:{}", broker_port);
  const std::string worker_target = fmt::format("127.0.0.1:{}", worker_port);

  auto client = stack.Client();
  auto traffic = [&](int round) {
    std::vector<std::string> ids;
    for (int i = 0; i < 20; ++i) {
      auto r = client->PostJson("/v1/jobs",
                                fmt::format(R"({{"type":"upper","input":"r{}-{}"}})", round, i));
      if (r && r->status == 202) ids.push_back(JsonString(r->body, "id"));
    }
    auto bad = client->PostJson("/v1/jobs", R"({"type":"upper","input":5})");
    if (bad && bad->status == 202) ids.push_back(JsonString(bad->body, "id"));
    auto idle = client->PostJson("/v1/jobs", R"({"type":"idle","input":1,"timeout_ms":20})");
    if (idle && idle->status == 202) ids.push_back(JsonString(idle->body, "id"));
    for (const auto& id : ids) WaitTerminal(*client, id);
    return ids.size();
  };
  ASSERT_EQ(traffic(0), 22u);

  // Prometheus with the compose file's job names, scraping every second.
  char dir_template[] = "/tmp/bq-prometheus.XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  const int port = FreePort();
  {
    std::ofstream config(dir + "/prometheus.yml");
    config << fmt::format(
        "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\n"
        "scrape_configs:\n"
        "  - {{job_name: gateway, authorization: {{credentials_file: '{}'}},\n"
        "     static_configs: [{{targets: ['{}']}}]}}\n"
        "  - {{job_name: broker, static_configs: [{{targets: ['{}']}}]}}\n"
        "  - {{job_name: gpu_worker, static_configs: [{{targets: ['{}']}}]}}\n",
        stack.admin_key_file(), gateway_target, broker_target, worker_target);
  }
  ChildProcess prometheus({BATCHQ_PROMETHEUS, "--config.file=" + dir + "/prometheus.yml",
                           "--storage.tsdb.path=" + dir + "/data",
                           fmt::format("--web.listen-address=127.0.0.1:{}", port)},
                          dir + "/prometheus.log");
  auto api = [&]() -> std::unique_ptr<HttpClient> {
    for (int i = 0; i < 100; ++i) {
      auto c = HttpClient::Connect(fmt::format("http://127.0.0.1:{}", port), 2s);
      if (c) return std::move(*c);
      std::this_thread::sleep_for(100ms);
    }
    return nullptr;
  }();
  ASSERT_NE(api, nullptr) << prometheus.ReadLog();

  // Bounded polls: all three targets up, then a second round of traffic, then rates
  // that have seen it (two scrapes apart).
  std::string error;
  auto poll = [&](const std::string& expr, int want) {
    for (int i = 0; i < 150; ++i) {
      if (QueryCount(*api, expr, &error) >= want) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  };
  ASSERT_TRUE(poll("up == 1", 3)) << error << "\n" << prometheus.ReadLog();
  ASSERT_EQ(traffic(1), 22u);
  ASSERT_TRUE(poll("increase(batchq_batch_size_count{type=\"upper\"}[1m]) > 0", 1)) << error;
  ASSERT_TRUE(poll("increase(batchq_broker_jobs_ended_total[1m]) > 0", 1)) << error;

  // Every metric the dashboard names is exported by some process.
  std::string exported;
  for (const std::string& base :
       {stack.url(), "http://" + broker_target, "http://" + worker_target}) {
    exported += ScrapeMetrics(base, base == stack.url() ? stack.admin_key() : "");
  }
  const std::regex metric_name("batchq_[a-z_]+");
  std::set<std::string> named;
  for (const auto& panel : panels) {
    for (const auto& expr : panel.exprs) {
      for (std::sregex_iterator it(expr.begin(), expr.end(), metric_name), end; it != end; ++it) {
        named.insert(it->str());
      }
    }
  }
  for (const auto& name : named) {
    EXPECT_NE(exported.find("\n" + name), std::string::npos)
        << name << " is on the dashboard but no process exports it";
  }

  // Every query parses, and every panel shows data (polled: a rate needs two scrapes
  // of its series inside the window).
  for (const auto& panel : panels) {
    int series = 0;
    for (int attempt = 0; attempt < 100 && series == 0; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(100ms);
      for (const auto& expr : panel.exprs) {
        const int count = QueryCount(*api, expr, &error);
        ASSERT_GE(count, 0) << panel.title << ": " << expr << ": " << error;
        series += count;
      }
    }
    EXPECT_GT(series, 0) << panel.title << " shows no data";
  }
  prometheus.Stop();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace batchq::test
