// Takeover time of the broker pair: kill -9 of the active broker -> the first batch
// dispatched by the next one, with jobs queued and two workers busy, over real
// processes (redis-server, two brokers, a gateway, two workers, CURVE and ACLs on, as
// the integration tests run them). Per trial: fill the queue with `sleep` jobs, kill
// the broker holding the lease, wait for every job to end, and take the earliest
// `dispatched_us` after the kill; the killed broker then comes back as the standby.
//   failover_bench [--lease-ms 3000] [--trials 5]
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/command_line.h"
#include "common/wall_clock.h"
#include "tests/support/stack.h"

namespace {

using namespace batchq;
using namespace batchq::test;

// One trial's takeover, in milliseconds; negative when it could not be measured.
double Trial(Stack& stack, HttpClient& client, int jobs) {
  if (!stack.WaitReady(2)) return -1;  // the gateway follows the active broker again
  const int active = stack.ActiveBroker();
  if (active < 0) return -1;
  std::vector<std::string> ids;
  for (int sent = 0; sent < jobs; sent += 100) {
    std::string body = R"({"jobs":[)";
    for (int i = 0; i < 100; ++i)
      body += fmt::format(R"({}{{"type":"sleep","input":1}})", i ? "," : "");
    body += "]}";
    auto response = client.PostJson("/v1/jobs:batch", body);
    if (!response || response->status != 202) return -1;
    std::size_t at = 0;
    while ((at = response->body.find("\"id\":\"", at)) != std::string::npos) {
      ids.push_back(response->body.substr(at + 6, 32));
      at += 6;
    }
  }
  const std::int64_t killed_us = NowWallMicros().count();
  stack.broker(active).Kill();
  std::int64_t first_after = 0;
  for (const auto& id : ids) {
    const std::string job = WaitTerminal(client, id);
    if (JsonString(job, "status") != "succeeded") {
      std::fprintf(stderr, "job %s did not succeed: %s\n", id.c_str(), job.c_str());
      return -1;
    }
    const std::int64_t dispatched = JsonInt(job, "timeline", "dispatched_us");
    if (dispatched > killed_us && (first_after == 0 || dispatched < first_after)) {
      first_after = dispatched;
    }
  }
  stack.StartBroker(active);  // back as the standby
  if (first_after == 0) return -1;
  return static_cast<double>(first_after - killed_us) / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  batchq::CommandLine command_line{
      "batchq failover bench: takeover time after kill -9 of the active broker"};
  int lease_ms = 3000;
  int trials = 5;
  int jobs = 1000;
  command_line.Option("--lease-ms", lease_ms, "The brokers' --lease-ms").ShowDefault();
  command_line.Option("--trials", trials, "Kills, alternating between the two brokers")
      .ShowDefault();
  command_line.Option("--jobs", jobs, "Sleep jobs queued before each kill (multiple of 100)")
      .ShowDefault();
  if (const auto exit_code = command_line.Parse(argc, argv)) return *exit_code;

  Stack stack(
      StackOptions{.workers = 2,
                   .brokers = 2,
                   .broker_args = {"--lease-ms", std::to_string(lease_ms), "--type",
                                   "sleep:max_batch_size=8,max_delay_ms=1"},
                   .worker_args = {"--sleep-fixed-us", "20000", "--sleep-per-item-us", "0"}});
  if (!stack.WaitReady(2)) {
    std::fprintf(stderr, "stack not ready:\n%s\n", stack.Logs().c_str());
    return 1;
  }
  auto client = stack.Client();
  std::vector<double> takeovers;
  for (int t = 0; t < trials; ++t) {
    const double ms = Trial(stack, *client, jobs);
    if (ms < 0) {
      std::fprintf(stderr, "trial %d failed:\n%s\n", t, stack.Logs().c_str());
      return 1;
    }
    std::printf("trial %d: takeover %.0f ms\n", t, ms);
    std::fflush(stdout);
    takeovers.push_back(ms);
  }
  std::sort(takeovers.begin(), takeovers.end());
  std::printf(
      "lease %d ms: takeover median %.0f ms, min %.0f, max %.0f over %d kills (goal <= %d)\n",
      lease_ms, takeovers[takeovers.size() / 2], takeovers.front(), takeovers.back(), trials,
      2 * lease_ms);
  return 0;
}
