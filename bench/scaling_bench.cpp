// Throughput of the `sleep` cost model as workers are added, spread over network
// namespaces ("hosts" on one bridged LAN, TCP and CURVE between them, as the hosts tests
// run them), against the ideal of the cost model: each worker runs full batches back to
// back, so W workers finish W * B / (fixed + B * per_item) jobs per second. The load
// generator (`batchq bench`, closed loop through POST /v1/jobs:batch) runs in this
// namespace and reaches the gateway over the LAN. One JSON line per worker count and
// round, with the CPU seconds each part of the service spent during the load (from
// /proc; the load generator's from this process's reaped children). Needs root and `ip`.
//   scaling_bench [--workers 1,2,4,8,16,32] [--rounds 3] [--out FILE.jsonl]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench/load_run.h"
#include "common/command_line.h"
#include "tests/support/netns_lan.h"
#include "tests/support/stack.h"

namespace {

using namespace batchq::test;

struct CostModel {
  int fixed_us = 20000;
  int per_item_us = 500;
  int max_batch = 32;
  double IdealJobsPerSecond(int workers) const {
    return workers * max_batch * 1e6 / (fixed_us + static_cast<double>(max_batch) * per_item_us);
  }
};

struct Load {
  int jobs_per_worker = 3000;
  int connections = 16;
  int jobs_per_request = 32;
};

constexpr int kWorkerHosts = 4;

// One run of `batchq bench` against a fresh stack with `workers` workers: its JSON report
// and the CPU each part spent, as `"bench":{...},"cpu_s":{...}`; "" if it failed.
std::string Run(int workers, const CostModel& cost, const Load& load) {
  std::vector<std::string> hosts = {"data", "gateways"};
  for (int h = 0; h < kWorkerHosts; ++h) hosts.push_back(fmt::format("workers-{}", h));
  NetnsLan lan(hosts);
  Stack stack(StackOptions{
      .workers = 0,
      .broker_args = {"--type",
                      fmt::format("sleep:max_batch_size={},max_delay_ms=2", cost.max_batch)},
      .worker_args = {"--sleep-fixed-us", std::to_string(cost.fixed_us), "--sleep-per-item-us",
                      std::to_string(cost.per_item_us), "--type", "sleep"},
      .data_host = lan.host("data"),
      .gateway_host = lan.host("gateways")});
  for (int w = 0; w < workers; ++w) {
    stack.options().worker_host = lan.host(fmt::format("workers-{}", w % kWorkerHosts));
    stack.AddWorker();
  }
  if (!stack.WaitReady(workers)) {
    std::fprintf(stderr, "stack not ready:\n%s\n", stack.Logs().c_str());
    return "";
  }
  return batchq::bench::RunLoad(
      stack, workers,
      {"--type", "sleep", "--input", "1", "--count", std::to_string(load.jobs_per_worker * workers),
       "--connections", std::to_string(load.connections), "--jobs-per-request",
       std::to_string(load.jobs_per_request), "--timeout-s", "300"});
}

}  // namespace

int main(int argc, char** argv) {
  batchq::CommandLine command_line{
      "batchq scaling bench: sleep jobs/s with 1..N workers on namespaced hosts"};
  std::vector<int> worker_counts = {1, 2, 4, 8, 16, 32};
  int rounds = 3;
  std::string out = "scaling.jsonl";
  CostModel cost;
  Load load;
  command_line.Option("--workers", worker_counts, "Worker counts to measure").Delimiter(',');
  command_line.Option("--rounds", rounds, "Runs per worker count, interleaved").ShowDefault();
  command_line.Option("--out", out, "JSON lines written here").ShowDefault();
  command_line.Option("--fixed-us", cost.fixed_us, "sleep: cost per batch, µs").ShowDefault();
  command_line.Option("--per-item-us", cost.per_item_us, "sleep: cost per job, µs").ShowDefault();
  command_line.Option("--max-batch", cost.max_batch, "The broker's max_batch_size for sleep")
      .ShowDefault();
  command_line.Option("--jobs-per-worker", load.jobs_per_worker, "Jobs per run, per worker")
      .ShowDefault();
  command_line.Option("--connections", load.connections, "Load generator connections")
      .ShowDefault();
  command_line.Option("--jobs-per-request", load.jobs_per_request, "Jobs per POST /v1/jobs:batch")
      .ShowDefault();
  if (const auto exit_code = command_line.Parse(argc, argv)) return *exit_code;
  if (const std::string why = NetnsLan::Unavailable(); !why.empty()) {
    std::fprintf(stderr, "%s\n", why.c_str());
    return 2;
  }

  std::ofstream lines(out, std::ios::app);
  for (int round = 0; round < rounds; ++round) {
    for (const int workers : worker_counts) {
      const std::string report = Run(workers, cost, load);
      if (report.empty()) return 1;
      const std::string line =
          fmt::format(R"({{"workers":{},"round":{},"fixed_us":{},"per_item_us":{},"max_batch":{},)"
                      R"("ideal_jobs_per_s":{:.1f},{}}})",
                      workers, round, cost.fixed_us, cost.per_item_us, cost.max_batch,
                      cost.IdealJobsPerSecond(workers), report);
      lines << line << '\n' << std::flush;
      std::printf("%s\n", line.c_str());
      std::fflush(stdout);
    }
  }
  return 0;
}
