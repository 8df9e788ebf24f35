// Overload, measured on the loopback stack (redis-server, broker, 2 CPU workers, CURVE
// and ACL users on; `upper` batched up to 64 within 2 ms), one fresh stack per run:
//  * flood: the closed-loop maximum first (`batchq bench --closed-loop`, POST then
//    long-poll, 64 connections), then an open loop at --load times that rate for
//    --seconds (--connections, 256 by default, each request due at its slot, its latency counted
//    from then), once per gateway --max-in-flight-submit-jobs given. Reports every answer by
//    status, the submit latency, and what the accepted jobs did. --redis-stall-ms N: during
//    the open loop Redis pauses its writes (CLIENT PAUSE N WRITE) once a second, as a
//    storage hiccup would (a slow fsync, a fork), so that submits queue inside the gateway.
//  * probe (--probe-count > 0): that many jobs of --probe-type offered at once through
//    :batch, with no bound on the type's queue wait and then with --probe-wait-ms: how
//    many were accepted and how long the accepted ones took.
// One JSON line per run.
//   overload_bench [--rounds 3] [--seconds 10] [--load 2] [--bound 16384 --bound 64]
//                  [--connections 256] [--redis-stall-ms 300]
//   overload_bench --probe-count 20000 --probe-type render --probe-wait-ms 2000
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <simdjson.h>

#include "bench/load_run.h"
#include "common/command_line.h"
#include "tests/support/stack.h"

namespace {

using namespace batchq;
using namespace batchq::test;

std::unique_ptr<Stack> StartStack(std::vector<std::string> broker_args,
                                  std::vector<std::string> gateway_args) {
  auto stack = std::make_unique<Stack>(StackOptions{.workers = 2,
                                                    .broker_args = std::move(broker_args),
                                                    .gateway_args = std::move(gateway_args)});
  if (!stack->WaitReady(2)) {
    std::fprintf(stderr, "stack not ready:\n%s\n", stack->Logs().c_str());
    return nullptr;
  }
  return stack;
}

double EndToEndJobsPerS(const std::string& run) {
  // run is `"bench":{...},"cpu_s":{...}`: the bench object holds the figure.
  simdjson::dom::parser parser;
  const std::string json = "{" + run + "}";
  double rate = 0;
  if (parser.parse(json)["bench"]["end_to_end_jobs_per_s"].get(rate) != simdjson::SUCCESS) {
    return 0;
  }
  return rate;
}

// Pauses Redis's writes for `stall` once a second until destroyed; `stall` 0: nothing.
class RedisStalls {
 public:
  RedisStalls(const Stack& stack, std::chrono::milliseconds stall) {
    if (stall.count() == 0) return;
    thread_ = std::thread([this, endpoint = stack.redis_admin_endpoint(), stall] {
      RedisConnection admin(RedisConnection::Options{endpoint});
      const std::string ms = std::to_string(stall.count());
      while (!done_.load()) {
        if (!admin.Command({"CLIENT", "PAUSE", ms, "WRITE"}))
          std::fprintf(stderr, "CLIENT PAUSE failed\n");
        for (int i = 0; i < 10 && !done_.load(); ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
      }
    });
  }
  ~RedisStalls() {
    done_.store(true);
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// The closed-loop maximum, then the open loop past it, on one stack.
bool Flood(int round, std::size_t bound, double load, int seconds, int connections,
           std::chrono::milliseconds stall) {
  const std::vector<std::string> broker{"--type", "upper:max_batch_size=64,max_delay_ms=2"};
  auto stack = StartStack(broker, {"--max-in-flight-submit-jobs", std::to_string(bound)});
  if (!stack) return false;
  const std::string closed =
      bench::RunLoad(*stack, 2,
                     {"--type", "upper", "--input", R"("hello")", "--count", "15000",
                      "--connections", "64", "--closed-loop", "--timeout-s", "300"});
  const double maximum = EndToEndJobsPerS(closed);
  if (maximum <= 0) return false;
  const double rate = load * maximum;
  const auto count = static_cast<long long>(rate * seconds);
  std::string open;
  {
    const RedisStalls stalls(*stack, stall);
    open = bench::RunLoad(*stack, 2,
                          {"--type", "upper", "--input", R"("hello")", "--count",
                           std::to_string(count), "--rate", fmt::format("{:.0f}", rate),
                           "--connections", std::to_string(connections), "--timeout-s", "120"});
  }
  if (open.empty()) return false;
  std::printf(
      "{\"scenario\":\"flood\",\"round\":%d,\"max_in_flight_submit_jobs\":%zu,"
      "\"redis_stall_ms\":%lld,\"closed_loop_jobs_per_s\":%.0f,"
      "\"offered_jobs_per_s\":%.0f,%s}\n",
      round, bound, static_cast<long long>(stall.count()), maximum, rate, open.c_str());
  std::fflush(stdout);
  return true;
}

bool Probe(int round, const std::string& type, const std::string& input, int count, int wait_ms) {
  const std::string settings =
      wait_ms > 0 ? fmt::format("{}:max_queue_wait_ms={}", type, wait_ms) : type;
  auto stack = StartStack({"--type", settings}, {});
  if (!stack) return false;
  // One batch first, so that the broker has learnt the type's cost.
  const std::string warm =
      bench::RunLoad(*stack, 2, {"--type", type, "--input", input, "--count", "8"});
  if (warm.empty()) return false;
  const std::string run =
      bench::RunLoad(*stack, 2,
                     {"--type", type, "--input", input, "--count", std::to_string(count),
                      "--jobs-per-request", "500", "--connections", "4", "--timeout-s", "400"});
  if (run.empty()) return false;
  std::printf("{\"scenario\":\"probe\",\"round\":%d,\"type\":\"%s\",\"max_queue_wait_ms\":%d,%s}\n",
              round, type.c_str(), wait_ms, run.c_str());
  std::fflush(stdout);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  batchq::CommandLine command_line{
      "batchq overload bench: the open loop past the closed-loop maximum, and a flood "
      "of one slow type"};
  int rounds = 3;
  int seconds = 10;
  int connections = 256;
  int stall_ms = 0;
  double load = 2;
  std::vector<std::size_t> bounds;
  int probe_count = 0;
  std::string probe_type = "render";
  std::string probe_input = R"({"width":32,"height":32})";
  int probe_wait_ms = 2000;
  command_line.Option("--rounds", rounds, "Runs per setting").ShowDefault();
  command_line.Option("--seconds", seconds, "Length of the open loop").ShowDefault();
  command_line
      .Option("--connections", connections,
              "Connections of the open loop (at most 256, as `batchq bench` takes)")
      .Check(batchq::FlagCheck::Range(1, 256))
      .ShowDefault();
  command_line
      .Option("--redis-stall-ms", stall_ms,
              "During the open loop, Redis pauses its writes this long once a second")
      .ShowDefault();
  command_line.Option("--load", load, "Offered load as a multiple of the closed-loop maximum")
      .ShowDefault();
  command_line.Option("--bound", bounds,
                      "Gateway --max-in-flight-submit-jobs; repeatable (0: none)");
  command_line.Option("--probe-count", probe_count, "Jobs of the probe (0: flood only)");
  command_line.Option("--probe-type", probe_type, "Job type of the probe").ShowDefault();
  command_line.Option("--probe-input", probe_input, "Input of each probe job").ShowDefault();
  command_line.Option("--probe-wait-ms", probe_wait_ms, "The probe type's max_queue_wait_ms")
      .ShowDefault();
  if (const auto exit_code = command_line.Parse(argc, argv)) return *exit_code;
  if (bounds.empty() && probe_count == 0) bounds = {16384, 64};

  for (int round = 0; round < rounds; ++round) {
    for (const std::size_t bound : bounds) {
      if (!Flood(round, bound, load, seconds, connections, std::chrono::milliseconds(stall_ms))) {
        return 1;
      }
    }
    if (probe_count > 0) {
      for (const int wait_ms : {0, probe_wait_ms}) {
        if (!Probe(round, probe_type, probe_input, probe_count, wait_ms)) return 1;
      }
    }
  }
  return 0;
}
