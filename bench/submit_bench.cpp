// What a submit costs, gateway against gateway: the same loopback stack (redis-server,
// broker, 2 CPU workers, CURVE and ACL users on; `upper` batched up to 64 within 2 ms)
// under `batchq bench --type upper --connections 64` (every job submitted by POST /v1/jobs,
// then read back), once per gateway binary per round, interleaved. Per run: end-to-end
// and submit jobs/s, the Redis commands per job (INFO commandstats, reset first) with the
// five most frequent, and each process's CPU per job. One JSON line per run. A gateway
// given as NAME=PATH@MS is driven with `--submit-wait-ms MS` instead: every submit
// waits for its job (one round trip per job). With --closed-loop every connection waits
// for its job to end (long-polls) before the next submit, and the jobs/s is the submit
// loop's.
//   submit_bench --gateway NAME=PATH[@MS] [--gateway ...] [--closed-loop] [--rounds 3]
//                [--count 20000]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "bench/load_run.h"
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
std::string Run(const std::string& gateway, int submit_wait_ms, bool closed_loop, int count,
                int connections) {
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
  std::vector<std::string> args{"--type",           "upper",
                                "--input",          R"("hello")",
                                "--count",          std::to_string(count),
                                "--connections",    std::to_string(connections),
                                "--submit-wait-ms", std::to_string(submit_wait_ms),
                                "--timeout-s",      "300"};
  if (closed_loop) args.push_back("--closed-loop");
  const std::string run = bench::RunLoad(stack, 2, args);
  if (run.empty()) return "";
  return fmt::format(R"({},"redis_commands":{})", run, CommandsJson(CommandCalls(redis), count));
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
  bool closed_loop = false;
  app.add_flag("--closed-loop", closed_loop,
               "Every connection waits for its job to end before the next submit");
  CLI11_PARSE(app, argc, argv);

  for (int round = 0; round < rounds; ++round) {
    for (const std::string& named : gateways) {
      const auto equals = named.find('=');
      if (equals == std::string::npos) {
        std::fprintf(stderr, "--gateway takes NAME=PATH, not %s\n", named.c_str());
        return 2;
      }
      std::string path = named.substr(equals + 1);
      int submit_wait_ms = 0;
      if (const auto at = path.rfind('@'); at != std::string::npos) {
        submit_wait_ms = std::stoi(path.substr(at + 1));
        path.resize(at);
      }
      const std::string result = Run(path, submit_wait_ms, closed_loop, count, connections);
      if (result.empty()) return 1;
      std::printf("{\"gateway\":\"%s\",\"round\":%d,%s}\n", named.substr(0, equals).c_str(), round,
                  result.c_str());
      std::fflush(stdout);
    }
  }
  return 0;
}
