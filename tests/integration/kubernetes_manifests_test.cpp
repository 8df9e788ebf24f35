// deploy/kubernetes, checked offline: deploy/kubernetes/check/check.mjs validates every
// manifest against the Kubernetes and KEDA schemas and their wiring, and reports what the
// containers ask of batchq's binaries; this test holds that against the binaries built
// here: every flag and env var is one their --help lists, every port they are told to
// listen on is a declared container port (and the other way round), and every metric a
// query names is one a running broker, worker or gateway serves on /metrics.
#include <set>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include "tests/support/stack.h"

namespace batchq::test {
namespace {

std::string Binary(std::string_view name) {
  if (name == "broker") return BATCHQ_BROKER_BIN;
  if (name == "gateway") return BATCHQ_GATEWAY_BIN;
  return BATCHQ_WORKER_BIN;
}

std::string Help(const std::string& binary) {
  std::string text;
  EXPECT_EQ(RunCommand({binary, "--help"}, &text), 0) << binary;
  return text;
}

// True when `flag` is an option --help lists ("  --port INT", "  --no-curve\n", "-o,--output").
bool ListsFlag(const std::string& help, const std::string& flag) {
  for (const char* after : {" ", "\n", ","}) {
    if (help.find(flag + after) != std::string::npos) return true;
  }
  return false;
}

std::set<std::int64_t> Ints(simdjson::dom::array array) {
  std::set<std::int64_t> out;
  for (auto value : array) out.insert(value.get_int64().value());
  return out;
}

class KubernetesManifestsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(RunCommand({BATCHQ_NODE, BATCHQ_KUBERNETES_CHECK, "--json"}, &report_), 0)
        << "check.mjs found problems (run it for the list): " << report_;
    ASSERT_EQ(parser_.parse(report_).get(root_), simdjson::SUCCESS) << report_;
  }
  std::string report_;
  simdjson::dom::parser parser_;
  simdjson::dom::element root_;
};

TEST_F(KubernetesManifestsTest, EveryFlagEnvVarAndPortIsOneTheBinariesHave) {
  simdjson::dom::array containers = root_["containers"].get_array();
  ASSERT_GE(containers.size(), 3u) << "the broker, gateway and worker containers: " << report_;
  std::set<std::string> binaries;
  for (auto container : containers) {
    const std::string where(container["where"].get_string().value());
    const std::string binary(container["binary"].get_string().value());
    binaries.insert(binary);
    const std::string help = Help(Binary(binary));
    for (auto flag : container["flags"].get_array()) {
      EXPECT_TRUE(ListsFlag(help, std::string(flag.get_string().value())))
          << where << ": " << binary << " has no " << flag.get_string().value();
    }
    for (auto env : container["env"].get_array()) {
      const std::string name(env.get_string().value());
      EXPECT_NE(help.find("(Env:" + name + ")"), std::string::npos)
          << where << ": " << binary << " reads no " << name;
    }
    const auto declared = Ints(container["container_ports"].get_array());
    const auto listening = Ints(container["listen_ports"].get_array());
    EXPECT_EQ(declared, listening)
        << where << ": the container ports must be the ports its flags and env listen on";
  }
  EXPECT_EQ(binaries, (std::set<std::string>{"broker", "gateway", "gpu_worker"}));
}

TEST_F(KubernetesManifestsTest, EveryMetricAQueryNamesIsServed) {
  Stack stack(StackOptions{.workers = 0, .broker_args = {"--metrics-listen", "127.0.0.1:0"}});
  stack.AddWorker({"--metrics-listen", "127.0.0.1:0"});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  ExpectUpperJobRuns(*stack.Client(), "every series has a sample");
  simdjson::dom::array metrics = root_["metrics"].get_array();
  ASSERT_GT(metrics.size(), 0u) << "the KEDA query names the queue's metrics: " << report_;
  // The broker sets its gauges on its heartbeat tick: scrape until each has been, bounded.
  std::string served;
  auto serves = [&](std::string_view name) {
    return served.find("\n" + std::string(name)) != std::string::npos;
  };
  WaitFor([&] {
    served.clear();
    for (const auto* process : {&stack.broker(), &stack.worker(0)}) {
      served +=
          ScrapeMetrics(fmt::format("http://127.0.0.1:{}", LoggedMetricsPort(process->ReadLog())));
    }
    served += ScrapeMetrics(stack.url(), stack.admin_key());
    for (auto metric : metrics) {
      if (!serves(metric.get_string().value())) return false;
    }
    return true;
  });
  for (auto metric : metrics) {
    EXPECT_TRUE(serves(metric.get_string().value()))
        << metric.get_string().value() << " is in a manifest but no process serves it";
  }
}

}  // namespace
}  // namespace batchq::test
