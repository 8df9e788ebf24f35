// Where Redis's time goes per job, one write at a time: the gateway's group commit
// (Create), the worker's claim (Start) and its results' write (Finish), and the write
// that claims at write (Finish with a start, claim_timing.h). A real redis-server
// under the roles' ACL users, as the stack runs it, with nothing else talking to it: the
// stack's broker sets the epoch and is stopped, so its sweeps add nothing. Per phase:
// Redis's CPU per job (/proc/PID/stat), INFO commandstats' commands and µs per job, and
// this client's wall time per call and CPU time per job. Jobs go in groups and batches of the sizes
// the closed-loop bench sees (--group, --batch). After each round's writes, Redis's memory per
// record (INFO memory's used_memory; two records per job: one claimed first, one at write).
// --redis-config sets a Redis setting first (CONFIG SET), to measure its effect.
// --claiming-only leaves out the records claimed first, so that the finish that claims at
// write is the only script that runs (under callgrind, docs/BENCHMARKS.md).
// --finish-by-script writes the finishes by the finish script alone, as before the
// finish transaction (finish_transaction.h), to compare the two.
//   store_scripts_bench [--jobs 40000] [--group 14] [--batch 28] [--rounds 3]
//                       [--redis-config NAME=VALUE]... [--claiming-only] [--finish-by-script]
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench/process_cpu.h"
#include "common/command_line.h"
#include "common/job_store.h"
#include "gateway/storage_watch.h"
#include "tests/support/role_stores.h"
#include "tests/support/stack.h"

namespace batchq::bench {
namespace {

using Clock = std::chrono::steady_clock;

// calls and usec per command from INFO commandstats.
std::map<std::string, std::pair<double, double>> CommandStats(RedisConnection& admin) {
  std::map<std::string, std::pair<double, double>> stats;
  auto info = admin.Command({"INFO", "commandstats"});
  if (!info) return stats;
  std::size_t at = 0;
  const std::string& text = info->str;
  while ((at = text.find("cmdstat_", at)) != std::string::npos) {
    const auto colon = text.find(':', at);
    const std::string name = text.substr(at + 8, colon - at - 8);
    const auto calls = text.find("calls=", colon);
    const auto usec = text.find("usec=", colon);
    stats[name] = {std::stod(text.substr(calls + 6)), std::stod(text.substr(usec + 5))};
    at = colon;
  }
  return stats;
}

struct Phase {
  test::Stack& stack;
  RedisConnection& admin;
  std::size_t jobs;
  double cpu_before = 0;
  std::map<std::string, std::pair<double, double>> stats_before;
  Clock::time_point wall_before;
  std::chrono::nanoseconds client_cpu_before{0};
  std::size_t calls = 0;

  // This thread's CPU time: the client's side of each write, as a worker's.
  static std::chrono::nanoseconds ClientCpu() {
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
  }

  void Begin() {
    (void)admin.Command({"CONFIG", "RESETSTAT"});
    stats_before = CommandStats(admin);
    cpu_before = CpuSeconds(stack.redis().pid());
    wall_before = Clock::now();
    client_cpu_before = ClientCpu();
    calls = 0;
  }
  std::string End(const std::string& name, int round) {
    const double wall = std::chrono::duration<double>(Clock::now() - wall_before).count();
    const double client_cpu =
        std::chrono::duration<double>(ClientCpu() - client_cpu_before).count();
    const double cpu = CpuSeconds(stack.redis().pid()) - cpu_before;
    auto stats = CommandStats(admin);
    std::string commands;
    double total = 0;
    for (const auto& [command, value] : stats) {
      if (command == "config" || command == "info") continue;
      const auto& before = stats_before[command];
      const double calls_per_job = (value.first - before.first) / static_cast<double>(jobs);
      const double usec_per_job = (value.second - before.second) / static_cast<double>(jobs);
      if (calls_per_job <= 0) continue;
      total += calls_per_job;
      commands += fmt::format(R"({}"{}":[{:.2f},{:.2f}])", commands.empty() ? "" : ",", command,
                              calls_per_job, usec_per_job);
    }
    return fmt::format(R"({{"phase":"{}","round":{},"jobs":{},"redis_cpu_us_per_job":{:.2f},)"
                       R"("commands_per_job":{:.2f},"wall_us_per_call":{:.1f},)"
                       R"("client_cpu_us_per_job":{:.2f},"commands":{{{}}}}})",
                       name, round, jobs, cpu * 1e6 / static_cast<double>(jobs), total,
                       wall * 1e6 / static_cast<double>(calls),
                       client_cpu * 1e6 / static_cast<double>(jobs), commands);
  }
};

// INFO memory's used_memory, in bytes; 0 when it cannot be read.
double UsedMemory(RedisConnection& admin) {
  auto info = admin.Command({"INFO", "memory"});
  if (!info) return 0;
  auto memory = ParseRedisMemory(info->str);
  return memory ? static_cast<double>(memory->used) : 0;
}

std::vector<NewJob> MakeJobs(std::size_t count, int round, const char* set) {
  std::vector<NewJob> jobs(count);
  for (std::size_t i = 0; i < count; ++i) {
    jobs[i].id = fmt::format("bench-{}-{}-{}", round, set, i);
    jobs[i].type = "upper";
    jobs[i].tenant = "acme";
    jobs[i].input = R"("hello")";
    jobs[i].created = NowWallMicros();
    jobs[i].retry_backoff_ms = 1000;  // the broker's default for a type, which the gateway gives
  }
  return jobs;
}

int Main(int argc, char** argv) {
  batchq::CommandLine command_line{"Redis's time per job for each of the store's writes"};
  std::size_t jobs = 40000, group = 14, batch = 28;
  int rounds = 3;
  command_line.Option("--jobs", jobs, "Jobs per phase");
  command_line.Option("--group", group, "Jobs per group commit");
  command_line.Option("--batch", batch, "Jobs per batch");
  command_line.Option("--rounds", rounds, "Rounds");
  bool claiming_only = false;
  command_line.Switch("--claiming-only", claiming_only,
                      "Only the creates and the finish that claims at write (the stack's path for "
                      "a fast type): for counting one script's instructions under callgrind");
  bool by_script = false;
  command_line.Switch("--finish-by-script", by_script,
                      "Finish by the script alone, never by a transaction (finish_transaction.h)");
  std::vector<std::string> settings;
  command_line.Option("--redis-config", settings, "NAME=VALUE: a Redis setting (CONFIG SET) first");
  if (const auto exit_code = command_line.Parse(argc, argv)) return *exit_code;

  test::Stack stack(test::StackOptions{.workers = 0});
  if (!stack.WaitReady(0)) {
    std::fprintf(stderr, "%s\n", stack.Logs().c_str());
    return 1;
  }
  test::RoleStores roles(stack);
  JobStore script_worker(roles.worker_redis, {.finish_by_script = true});
  JobStore& worker = by_script ? script_worker : roles.worker;
  const std::uint64_t epoch = roles.Epoch();
  stack.broker().Stop();  // its sweeps would read the pending jobs meanwhile
  RedisConnection admin(RedisConnection::Options{stack.redis_admin_endpoint()});
  for (const std::string& setting : settings) {
    const auto eq = setting.find('=');
    auto set = admin.Command({"CONFIG", "SET", setting.substr(0, eq),
                              eq == std::string::npos ? "" : setting.substr(eq + 1)});
    if (!set || set->is_error()) {
      std::fprintf(stderr, "CONFIG SET %s failed: %s\n", setting.c_str(),
                   set ? set->str.c_str() : set.error().message.c_str());
      return 2;
    }
  }
  Phase phase{stack, admin, jobs};
  const double memory_before = UsedMemory(admin);
  for (int round = 0; round < rounds; ++round) {
    // Two sets: one claimed first, one claimed at write.
    const std::vector<NewJob> first = MakeJobs(jobs, round, "first");
    const std::vector<NewJob> at_write = MakeJobs(jobs, round, "write");
    phase.Begin();
    for (std::size_t i = 0; i < jobs; i += group) {
      const std::size_t n = std::min(group, jobs - i);
      if (!roles.gateway.Create(std::span(claiming_only ? at_write : first).subspan(i, n))) {
        return 1;
      }
      ++phase.calls;
    }
    std::puts(phase.End("create", round).c_str());
    for (std::size_t i = 0; i < jobs && !claiming_only; i += group) {
      const std::size_t n = std::min(group, jobs - i);
      if (!roles.gateway.Create(std::span(at_write).subspan(i, n))) return 1;
    }
    // Values as long as a stack's: the broker's batch ids ("<8 hex>-<count>"), a worker's
    // default name (its host's, 12 hex in a container, and its pid) and a close reason.
    const BatchStart start{"5f3c9a1e-104729",
                           static_cast<std::uint32_t>(batch),
                           "3fa85f6457c1-17",
                           NowWallMicros(),
                           NowWallMicros() + std::chrono::microseconds(212),
                           "idle_worker",
                           epoch};
    auto outcomes_of = [&](const std::vector<NewJob>& set, std::size_t i) {
      std::vector<JobOutcome> outcomes;
      for (std::size_t k = i; k < std::min(jobs, i + batch); ++k) {
        outcomes.push_back({.id = set[k].id,
                            .attempt = 1,
                            .succeeded = true,
                            .result = R"("HELLO")",
                            .launched = NowWallMicros()});
      }
      return outcomes;
    };
    if (!claiming_only) {
      phase.Begin();
      for (std::size_t i = 0; i < jobs; i += batch) {
        std::vector<JobClaim> claims;
        for (std::size_t k = i; k < std::min(jobs, i + batch); ++k)
          claims.push_back({first[k].id, 1});
        if (!roles.worker.Start(start, claims)) return 1;
        ++phase.calls;
      }
      std::puts(phase.End("start", round).c_str());
      phase.Begin();
      for (std::size_t i = 0; i < jobs; i += batch) {
        // Naming the start its claim wrote, as a worker does (BatchExecutor).
        if (!worker.Finish(outcomes_of(first, i), nullptr, &start)) return 1;
        ++phase.calls;
      }
      std::puts(phase.End("finish", round).c_str());
    }
    phase.Begin();
    for (std::size_t i = 0; i < jobs; i += batch) {
      if (!worker.Finish(outcomes_of(at_write, i), &start)) return 1;
      ++phase.calls;
    }
    std::puts(phase.End("finish_claiming", round).c_str());
    std::printf(R"({"phase":"memory","round":%d,"jobs":%zu,"bytes_per_ended_record":%.0f})"
                "\n",
                round, jobs,
                (UsedMemory(admin) - memory_before) / ((claiming_only ? 1.0 : 2.0) * jobs));
    std::fflush(stdout);
    (void)admin.Command({"FLUSHALL"});
    // The epoch went with the flush: put it back for the next round's claims.
    (void)admin.Command({"SET", roles.broker.epoch_key(), std::to_string(epoch)});
  }
  return 0;
}

}  // namespace
}  // namespace batchq::bench

int main(int argc, char** argv) { return batchq::bench::Main(argc, argv); }
