#pragma once
// When a worker marks a batch's jobs running: before the batch runs (a claim of its own,
// one Redis round trip and a script that reads and writes every job), or with its
// results, in the one script that writes them (a claim at write). A claim at write costs
// no round trip and two Redis commands less per job, but while its batch runs the jobs
// still read as queued: a cancel then ends them, and their results are refused. So it is
// for short batches only: a type is claimed at write while the last batch of it ran for
// less than `short_batch`, and claimed first otherwise, and before any batch of it ran.
// A batch that runs long after short ones is the one claimed late; the next is claimed
// first again. A batch holding a job that ran before (an attempt past the first: its
// worker was lost, or it failed and is retried) is claimed first too: the job may be
// what crashed its worker, and its record then counts each attempt that reached a
// worker. Pure: time is an argument. Not thread-safe.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace batchq {

class ClaimTiming {
 public:
  // `short_batch` zero: every batch is claimed first.
  explicit ClaimTiming(std::chrono::microseconds short_batch);

  // Whether the next batch of `type`, whose jobs' highest attempt number is
  // `highest_attempt` (1 for jobs never run), is claimed before it runs.
  bool ClaimsFirst(std::string_view type, std::uint32_t highest_attempt) const;
  // A batch of `type` ran for `ran` (the device's occupancy, as the broker is told).
  void OnBatchRan(std::string_view type, std::chrono::microseconds ran);

 private:
  const std::chrono::microseconds short_batch_;
  std::map<std::string, std::chrono::microseconds, std::less<>> last_run_;
};

}  // namespace batchq
