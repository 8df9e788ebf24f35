// What a submit costs, gateway against gateway: the same loopback stack (redis-server,
// broker, 2 CPU workers, CURVE and ACL users on; `upper` batched up to 64 within 2 ms)
// under `batchq bench --type upper --connections 64` (every job submitted by POST /v1/jobs,
// then read back), once per gateway binary per round, interleaved. Per run: end-to-end
// and submit jobs/s, the Redis commands per job (INFO commandstats, reset first) with the
// twelve most frequent, and each process's CPU per job. One JSON line per run. A gateway
// given as NAME=PATH@MS is driven with `--submit-wait-ms MS` instead: every submit
// waits for its job (one round trip per job). With --closed-loop every connection waits
// for its job to end (long-polls) before the next submit, and the jobs/s is the submit
// loop's. A gateway given as NAME=nginx is the reference: nginx (2 worker processes,
// no stack behind it) answering every POST /v1/jobs with a static queued job (with @MS,
// a static finished job, 200) and every GET /v1/jobs/{id} with a static finished job,
// driven by the same load generator in the same round; its CPU is nginx's (master and
// workers) and the load generator's. With --list-pollers N, N more
// connections list the newest 200 jobs (GET /v1/jobs?limit=200, as a dashboard does)
// back to back while the load runs; each run then also gives the lists' count and
// latency (their Redis commands are counted in the run's too). A gateway given as
// NAME=PATH+WORKER runs with the worker binary WORKER instead of this build's (an older
// build's, when what changed is shared by both).
//   submit_bench --gateway NAME=PATH[@MS][+WORKER] [--gateway ...] [--closed-loop] [--rounds 3]
//                [--count 20000] [--connections 64] [--rate JOBS_PER_S] [--list-pollers N]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "bench/load_run.h"
#include "common/command_line.h"
#include "common/redis_connection.h"
#include "tests/support/stack.h"

namespace {

using namespace batchq;
using namespace batchq::test;

// Calls and microseconds per command since the last CONFIG RESETSTAT
// ("cmdstat_hset:calls=12,usec=30,..."); a script's inner commands count on their own
// lines as well as in its EVALSHA's.
struct CommandStat {
  long long calls = 0;
  long long usec = 0;
};

std::map<std::string, CommandStat> CommandStats(RedisConnection& redis) {
  std::map<std::string, CommandStat> stats;
  const std::vector<std::string_view> info{"INFO", "commandstats"};
  auto reply = redis.Command(info);
  if (!reply) return stats;
  std::size_t at = 0;
  while ((at = reply->str.find("cmdstat_", at)) != std::string::npos) {
    const auto colon = reply->str.find(':', at);
    const auto calls = reply->str.find("calls=", colon);
    const auto usec = reply->str.find("usec=", colon);
    auto& stat = stats[reply->str.substr(at + 8, colon - at - 8)];
    stat.calls = std::stoll(reply->str.substr(calls + 6));
    stat.usec = std::stoll(reply->str.substr(usec + 5));
    at = colon;
  }
  return stats;
}

// The 12 largest of `value` per job, as JSON members.
template <typename Value>
std::string TopPerJob(const std::map<std::string, CommandStat>& stats, int jobs, Value value) {
  std::vector<std::pair<long long, std::string>> ranked;
  for (const auto& [name, stat] : stats) ranked.emplace_back(value(stat), name);
  std::sort(ranked.rbegin(), ranked.rend());
  std::string top;
  for (std::size_t i = 0; i < ranked.size() && i < 12; ++i) {
    top += fmt::format(R"({}"{}":{:.2f})", i ? "," : "", ranked[i].second,
                       static_cast<double>(ranked[i].first) / jobs);
  }
  return top;
}

std::string CommandsJson(std::map<std::string, CommandStat> stats, int jobs) {
  // The bench's own INFO is not the service's.
  stats.erase("info");
  stats.erase("config|resetstat");
  long long total = 0;
  for (const auto& [name, stat] : stats) total += stat.calls;
  return fmt::format(R"({{"per_job":{:.2f},"top_per_job":{{{}}},"usec_per_job":{{{}}}}})",
                     static_cast<double>(total) / jobs,
                     TopPerJob(stats, jobs, [](const CommandStat& s) { return s.calls; }),
                     TopPerJob(stats, jobs, [](const CommandStat& s) { return s.usec; }));
}

// What `batchq bench` is asked to do in every run.
struct Load {
  int submit_wait_ms = 0;
  bool closed_loop = false;
  int count = 20000;
  int connections = 64;
  double rate = 0;  // jobs/s of an open loop; 0: as fast as it goes
  int list_pollers = 0;
};

// Connections that list the newest jobs back to back until stopped; their latencies.
class ListPollers {
 public:
  ListPollers(const Stack& stack, int count)
      : latencies_(static_cast<std::size_t>(count)), refused_(static_cast<std::size_t>(count)) {
    for (int i = 0; i < count; ++i) {
      threads_.emplace_back([this, &stack, i] { Poll(stack, static_cast<std::size_t>(i)); });
    }
  }
  ~ListPollers() { Join(); }
  ListPollers(const ListPollers&) = delete;
  ListPollers& operator=(const ListPollers&) = delete;

  // Stops and joins the pollers; `"lists":{...}` of what they did.
  std::string StopAndReport() {
    Join();
    std::vector<double> all;
    for (const auto& one : latencies_) all.insert(all.end(), one.begin(), one.end());
    std::sort(all.begin(), all.end());
    auto at = [&all](double q) {
      return all.empty() ? 0.0 : all[static_cast<std::size_t>(q * (all.size() - 1))];
    };
    std::size_t refused = 0;
    for (const std::size_t one : refused_) refused += one;
    return fmt::format(R"("lists":{{"count":{},"p50_ms":{:.2f},"p99_ms":{:.2f},"not_200":{}}})",
                       all.size(), at(0.5), at(0.99), refused);
  }

 private:
  // Lists until stopped. An answer other than 200 (a 503 when the gateway sheds) is
  // counted and the poller goes on; a broken connection is opened again, and a gateway
  // that cannot be reached 100 times in a row ends the poller.
  void Poll(const Stack& stack, std::size_t i) {
    auto client = stack.Client();
    int unreachable = 0;
    while (!stop_.load() && unreachable < 100) {
      const auto start = std::chrono::steady_clock::now();
      auto list = client->Get("/v1/jobs?limit=200");
      if (!list) {
        ++unreachable;
        client = stack.Client();
        continue;
      }
      unreachable = 0;
      if (list->status != 200) {
        ++refused_[i];
        continue;
      }
      latencies_[i].push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count());
    }
  }
  void Join() {
    stop_ = true;
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }

  std::atomic<bool> stop_{false};
  std::vector<std::vector<double>> latencies_;
  std::vector<std::size_t> refused_;
  std::vector<std::thread> threads_;
};

std::vector<std::string> LoadArgs(const Load& load) {
  std::vector<std::string> args{"--type",           "upper",
                                "--input",          R"("hello")",
                                "--count",          std::to_string(load.count),
                                "--connections",    std::to_string(load.connections),
                                "--submit-wait-ms", std::to_string(load.submit_wait_ms),
                                "--rate",           fmt::format("{}", load.rate),
                                "--timeout-s",      "300"};
  if (load.closed_loop) args.push_back("--closed-loop");
  return args;
}

// One run; `"bench":...,"redis_commands":...,"cpu_s":...`, or "" if it failed.
std::string Run(const std::string& gateway, const std::string& worker, const Load& load) {
  StackOptions options{.workers = 2,
                       .broker_args = {"--type", "upper:max_batch_size=64,max_delay_ms=2"}};
  options.gateway_bin = gateway;
  if (!worker.empty()) options.worker_bin = worker;
  Stack stack(std::move(options));
  if (!stack.WaitReady(2)) {
    std::fprintf(stderr, "stack not ready:\n%s\n", stack.Logs().c_str());
    return "";
  }
  RedisConnection redis(RedisConnection::Options{stack.redis_admin_endpoint()});
  const std::vector<std::string_view> reset{"CONFIG", "RESETSTAT"};
  if (!redis.Command(reset)) return "";
  std::optional<ListPollers> pollers;
  if (load.list_pollers > 0) pollers.emplace(stack, load.list_pollers);
  const std::string run = bench::RunLoad(stack, 2, LoadArgs(load));
  const std::string lists = pollers ? "," + pollers->StopAndReport() : "";
  if (run.empty()) return "";
  return fmt::format(R"({},"redis_commands":{}{})", run,
                     CommandsJson(CommandStats(redis), load.count), lists);
}

// nginx answering the API's routes with static jobs: the reference for what the load
// generator and the machine allow.
std::string NginxConfig(const std::string& dir, int port, bool submit_ends) {
  const std::string id = "0123456789abcdef0123456789abcdef";
  const std::string queued = fmt::format(R"({{"id":"{}","status":"queued","type":"upper"}})", id);
  const std::string ended = fmt::format(
      R"({{"id":"{}","status":"succeeded","type":"upper","result":"HELLO",)"
      R"("timeline":{{"created_us":1,"started_us":2,"finished_us":3}},"batch":{{"size":1}}}})",
      id);
  return fmt::format(
      "worker_processes 2;\npid {0}/nginx.pid;\nerror_log {0}/error.log;\ndaemon off;\n"
      "events {{ worker_connections 4096; }}\n"
      "http {{\n  access_log off;\n  client_body_temp_path {0}/body;\n"
      "  proxy_temp_path {0}/proxy;\n  fastcgi_temp_path {0}/fastcgi;\n"
      "  uwsgi_temp_path {0}/uwsgi;\n  scgi_temp_path {0}/scgi;\n"
      "  keepalive_requests 1000000;\n  default_type application/json;\n"
      "  server {{\n    listen 127.0.0.1:{1};\n"
      "    location = /v1/jobs {{ add_header Location /v1/jobs/{2}; return {3} '{4}'; }}\n"
      "    location /v1/jobs/ {{ return 200 '{5}'; }}\n  }}\n}}\n",
      dir, port, id, submit_ends ? 200 : 202, submit_ends ? ended : queued, ended);
}

std::string RunNginx(const Load& load) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / fmt::format("batchq-nginx-{}", getpid())).string();
  std::filesystem::create_directories(dir);
  const int port = FreePort();
  std::ofstream(dir + "/nginx.conf") << NginxConfig(dir, port, load.submit_wait_ms > 0);
  ChildProcess nginx({"/usr/sbin/nginx", "-c", dir + "/nginx.conf", "-p", dir}, dir + "/nginx.log");
  const std::string url = fmt::format("http://127.0.0.1:{}", port);
  WaitFor([&] {
    auto client = HttpClient::Connect(url, std::chrono::milliseconds(500));
    return client && (*client)->Get("/v1/jobs/ready").has_value();
  });
  std::vector<std::string> argv{
      bench::LoadGeneratorBinary(), "--url", url, "--output", "json", "bench"};
  const auto args = LoadArgs(load);
  argv.insert(argv.end(), args.begin(), args.end());
  const double nginx_before = bench::ProcessFamilyCpuSeconds(nginx.pid());
  const double generator_before = bench::ChildrenCpuSeconds();
  const auto start = std::chrono::steady_clock::now();
  std::string report;
  const int status = RunCommand(argv, &report, std::chrono::seconds(400));
  const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - start;
  const double nginx_cpu = bench::ProcessFamilyCpuSeconds(nginx.pid()) - nginx_before;
  const double generator_cpu = bench::ChildrenCpuSeconds() - generator_before;
  nginx.Stop();
  std::filesystem::remove_all(dir);
  if (status != 0) {
    std::fprintf(stderr, "batchq bench against nginx exited %d: %s\n%s\n", status, report.c_str(),
                 nginx.ReadLog().c_str());
    return "";
  }
  while (!report.empty() && report.back() == '\n') report.pop_back();
  return fmt::format(
      R"("bench":{},"cpu_s":{{"wall_s":{:.3f},"nginx":{:.3f},"load_generator":{:.3f}}})",
      report.substr(report.rfind('\n') + 1), wall.count(), nginx_cpu, generator_cpu);
}

}  // namespace

int main(int argc, char** argv) {
  batchq::CommandLine command_line{
      "batchq submit bench: one stack per gateway binary, interleaved rounds"};
  std::vector<std::string> gateways;
  int rounds = 3;
  Load load;
  command_line
      .Option("--gateway", gateways, "NAME=PATH[@MS][+WORKER] of a gateway binary; repeatable")
      .Required();
  command_line.Option("--rounds", rounds, "Runs per gateway, interleaved").ShowDefault();
  command_line.Option("--count", load.count, "Jobs per run").ShowDefault();
  command_line.Option("--connections", load.connections, "Load generator connections")
      .ShowDefault();
  command_line.Option("--rate", load.rate, "Jobs/s of an open loop (0: as fast as it goes)")
      .ShowDefault();
  command_line
      .Option("--list-pollers", load.list_pollers,
              "Connections listing the newest 200 jobs back to back during each run")
      .Check(batchq::FlagCheck::NonNegative())
      .ShowDefault();
  command_line.Switch("--closed-loop", load.closed_loop,
                      "Every connection waits for its job to end before the next submit");
  if (const auto exit_code = command_line.Parse(argc, argv)) return *exit_code;

  for (int round = 0; round < rounds; ++round) {
    for (const std::string& named : gateways) {
      const auto equals = named.find('=');
      if (equals == std::string::npos) {
        std::fprintf(stderr, "--gateway takes NAME=PATH, not %s\n", named.c_str());
        return 2;
      }
      std::string path = named.substr(equals + 1);
      std::string worker;
      if (const auto plus = path.find('+'); plus != std::string::npos) {
        worker = path.substr(plus + 1);
        path.resize(plus);
      }
      Load this_load = load;
      if (const auto at = path.rfind('@'); at != std::string::npos) {
        this_load.submit_wait_ms = std::stoi(path.substr(at + 1));
        path.resize(at);
      }
      const std::string result =
          path == "nginx" ? RunNginx(this_load) : Run(path, worker, this_load);
      if (result.empty()) return 1;
      std::printf("{\"gateway\":\"%s\",\"round\":%d,%s}\n", named.substr(0, equals).c_str(), round,
                  result.c_str());
      std::fflush(stdout);
    }
  }
  return 0;
}
