#pragma once
// `batchq bench`: submits jobs at a fixed rate (or as fast as possible) over several
// keep-alive connections, waits for every job, and reports throughput, latency
// percentiles, batch sizes and any job that did not end (which would be a bug).
// Sends only to the gateway URL it is given; every loop is bounded by count and time.
// The timed submit phase runs its connections on a few event loops (AsyncHttpClient,
// `loop_threads`), so that the generator takes as little as it can of the CPU it shares
// with what it measures.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace batchq::cli {

struct LoadOptions {
  std::string url = "http://127.0.0.1:8080";
  std::string api_key;  // sent as Authorization: Bearer
  std::string ca_file;  // https: trust these CAs
  std::string type = "upper";
  std::string input = R"("hello batchq")";  // JSON text of each job's input
  std::uint64_t count = 10'000;
  double rate = 0;                // jobs per second in total; 0 = as fast as possible
  unsigned connections = 4;       // concurrent submitters, one connection each
  unsigned loop_threads = 2;      // event loops (threads) the submit phase's connections share
  unsigned jobs_per_request = 1;  // >1 submits through POST /v1/jobs:batch
  // >0: each single submit asks the gateway to hold its answer until the job ends
  // (POST /v1/jobs?wait_ms=N): a closed loop of one round trip per job.
  std::chrono::milliseconds submit_wait{0};
  // Each connection long-polls its job to the end before it submits the next (single
  // submits only): the POST-then-long-poll loop of a client that needs the answer.
  bool closed_loop = false;
  std::chrono::seconds wait_timeout{120};
  bool json = false;
  bool progress =
      true;  // progress on stderr (a bar on a terminal, else plain lines); off with json
};

struct LoadReport {
  std::uint64_t submitted = 0;
  std::uint64_t accepted = 0;
  std::uint64_t refused = 0;
  std::uint64_t succeeded = 0;
  std::uint64_t failed = 0;      // failed, cancelled or expired
  std::uint64_t unfinished = 0;  // accepted jobs not terminal by the wait timeout
  std::uint64_t retried = 0;     // finished jobs that took more than one attempt
  // Each request's answer time, from when it was due (its slot in an open loop, else its
  // send), so a server that falls behind shows as latency, not as a lower offered load.
  double submit_p50_ms = 0;
  double submit_p99_ms = 0;
  std::map<int, std::uint64_t> answers;  // requests by HTTP status; 0: no answer
  double submit_seconds = 0;
  double submit_jobs_per_s = 0;
  double end_to_end_jobs_per_s = 0;  // accepted jobs / (last finish - first create)
  double latency_p50_ms = 0;         // created (gateway) -> finished (worker)
  double latency_p99_ms = 0;
  double latency_max_ms = 0;
  double queue_wait_p50_ms = 0;  // created -> started
  double queue_wait_p99_ms = 0;
  double mean_batch_size = 0;
};

// Returns nullopt-like failure through `error` when the gateway cannot be reached at all.
LoadReport RunLoad(const LoadOptions& options, std::string* error);
std::string FormatReport(const LoadOptions& options, const LoadReport& report);

}  // namespace batchq::cli
