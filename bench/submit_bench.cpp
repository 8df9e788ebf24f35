// What a submit costs, gateway against gateway: the same loopback stack (redis-server,
// broker, 2 CPU workers, CURVE and ACL users on; `upper` batched up to 64 within 2 ms)
// under `batchq bench --type upper --connections 64` (every job submitted by POST /v1/jobs,
// then read back), once per gateway binary per round, interleaved. Per run: end-to-end
// and submit jobs/s, the Redis commands per job (INFO commandstats, reset first) with the
// five most frequent, and each process's CPU per job. One JSON line per run.
//   submit_bench --gateway NAME=PATH [--gateway NAME=PATH ...] [--rounds 3] [--count 20000]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "bench/process_cpu.h"
#include "common/redis_connection.h"
#include "tests/support/stack.h"

namespace {

using namespace batchq;
using namespace batchq::test;

// Calls per command since the last CONFIG RESETSTAT ("cmdstat_hset:calls=12,...").
std::map<std::string, long long> CommandCalls(RedisConnection& redis) {
  std::map<std::string, long long> calls;
  const std::vector<std::string_view> info{"INFO", "commandstats"};
  auto reply = redis.Command(info);
  if (!reply) return calls;
  std::size_t at = 0;
  while ((at = reply->str.find("cmdstat_", at)) != std::string::npos) {
    const auto colon = reply->str.find(':', at);
    const auto value = reply->str.find("calls=", colon);
    calls[reply->str.substr(at + 8, colon - at - 8)] = std::stoll(reply->str.substr(value + 6));
    at = colon;
  }
  return calls;
}

std::string CommandsJson(const std::map<std::string, long long>& calls, int jobs) {
  long long total = 0;
  std::vector<std::pair<long long, std::string>> ranked;
  for (const auto& [name, count] : calls) {
    // The bench's own INFO is not the service's.
    if (name == "info" || name == "config|resetstat") continue;
    total += count;
    ranked.emplace_back(count, name);
  }
  std::sort(ranked.rbegin(), ranked.rend());
  std::string top;
  for (std::size_t i = 0; i < ranked.size() && i < 5; ++i) {
    top += fmt::format(R"({}"{}":{:.2f})", i ? "," : "", ranked[i].second,
                       static_cast<double>(ranked[i].first) / jobs);
  }
  return fmt::format(R"({{"per_job":{:.2f},"top_per_job":{{{}}}}})",
                     static_cast<double>(total) / jobs, top);
}

// One run; `"bench":...,"redis_commands":...,"cpu_s":...`, or "" if it failed.
std::string Run(const std::string& gateway, int count, int connections) {
  StackOptions options{.workers = 2,
                       .broker_args = {"--type", "upper:max_batch_size=64,max_delay_ms=2"}};
  options.gateway_bin = gateway;
  Stack stack(std::move(options));
  if (!stack.WaitReady(2)) {
    std::fprintf(stderr, "stack not ready:\n%s\n", stack.Logs().c_str());
    return "";
  }
  RedisConnection redis(RedisConnection::Options{stack.redis_admin_endpoint()});
  const std::vector<std::string_view> reset{"CONFIG", "RESETSTAT"};
  if (!redis.Command(reset)) return "";
  const bench::CpuSample before = bench::SampleCpu(stack, 2);
  const auto start = std::chrono::steady_clock::now();
  std::string report;
  const int status = RunCommand(
      {BATCHQ_CLI_BIN, "--url", stack.url(), "--api-key-file", stack.admin_key_file(), "--output",
       "json", "bench", "--type", "upper", "--input", R"("hello")", "--count",
       std::to_string(count), "--connections", std::to_string(connections), "--timeout-s", "300"},
      &report, std::chrono::seconds(400));
  const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - start;
  const bench::CpuSample after = bench::SampleCpu(stack, 2);
  if (status != 0) {
    std::fprintf(stderr, "batchq bench exited %d: %s\n", status, report.c_str());
    return "";
  }
  while (!report.empty() && report.back() == '\n') report.pop_back();
  return fmt::format(
      R"("bench":{},"redis_commands":{},"cpu_s":{})", report.substr(report.rfind('\n') + 1),
      CommandsJson(CommandCalls(redis), count), bench::CpuJson(before, after, wall.count()));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"batchq submit bench: one stack per gateway binary, interleaved rounds"};
  std::vector<std::string> gateways;
  int rounds = 3;
  int count = 20000;
  int connections = 64;
  app.add_option("--gateway", gateways, "NAME=PATH of a gateway binary; repeatable")->required();
  app.add_option("--rounds", rounds, "Runs per gateway, interleaved")->capture_default_str();
  app.add_option("--count", count, "Jobs per run")->capture_default_str();
  app.add_option("--connections", connections, "Load generator connections")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  for (int round = 0; round < rounds; ++round) {
    for (const std::string& named : gateways) {
      const auto equals = named.find('=');
      if (equals == std::string::npos) {
        std::fprintf(stderr, "--gateway takes NAME=PATH, not %s\n", named.c_str());
        return 2;
      }
      const std::string result = Run(named.substr(equals + 1), count, connections);
      if (result.empty()) return 1;
      std::printf("{\"gateway\":\"%s\",\"round\":%d,%s}\n", named.substr(0, equals).c_str(), round,
                  result.c_str());
      std::fflush(stdout);
    }
  }
  return 0;
}
