#pragma once
// Runs batches one after another through three stages, each on its own thread, so
// that only the handler is on the device's critical path:
//   claim  marks the batch's jobs running in Redis (fenced by attempt), while the
//          previous batch still runs: with 2 credits the next batch is here early;
//          a type whose batches run short is claimed at write instead, by the script
//          that writes its results (claim_timing.h): no claim, so no round trip;
//   run    the handler, one batch at a time;
//   write  writes every result (once, fenced) and reports the batch done.
// A run thread with nothing to overlap (no batch in flight, none claimed or next)
// claims and writes its batch itself: under light load a batch then crosses no thread
// but the run thread's, and each crossing is a wake-up on the job's path.
// Enqueue/TakeDone/counts/Stop are thread-safe.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/job_store.h"
#include "common/redis_connection.h"
#include "common/wake_signal.h"
#include "common/wire.h"
#include "gpu_worker/claim_timing.h"
#include "gpu_worker/handler.h"
#include "gpu_worker/running_jobs.h"
#include "gpu_worker/worker_metrics.h"

namespace batchq {

class BatchExecutor {
 public:
  struct Options {
    RedisConnection::Options redis;
    JobStore::Options store;
    std::string worker_name;
    // Fault injection for reliability tests only: abort the process, as a crashing
    // handler would, when a batch holds this exact input (JSON text). Empty: off.
    std::string crash_on_input;
    // Counts every batch run; null: none. Must outlive the executor.
    WorkerMetrics* metrics = nullptr;
    // A type whose last batch ran for less is claimed at write (claim_timing.h); zero:
    // every batch is claimed before it runs.
    std::chrono::microseconds claim_at_write_below{0};
  };
  using Handlers = std::map<std::string, std::unique_ptr<Handler>, std::less<>>;

  // `done_signal` is notified whenever a finished batch can be taken; it must outlive
  // the executor. Takes ownership of the handlers.
  BatchExecutor(Options options, Handlers handlers, WakeSignal& done_signal);
  ~BatchExecutor();  // finishes the running batch, drops queued ones, joins

  void Enqueue(wire::Batch batch);
  // The broker says job `id` was cancelled: its handler may stop early (RunningJobs).
  void Cancel(std::string_view id);
  std::vector<wire::Done> TakeDone();

  // The batches the run thread claimed and wrote itself, having nothing else to do.
  struct Counts {
    std::uint64_t claimed_by_runner = 0;
    std::uint64_t written_by_runner = 0;
    std::uint64_t claimed_at_write = 0;  // batches not claimed before they ran
  };
  Counts counts() const;
  // Returns once the running batch (one the run thread has taken, or claimed itself) is
  // finished and every result is written; queued batches, and one the claim thread
  // claimed ahead, are dropped (the broker re-queues them when this worker disconnects).
  // Idempotent.
  void Stop();

 private:
  struct Claimed {
    wire::Batch batch;
    std::vector<bool> claimed;  // per job; empty when the claim failed (stopping)
    // The start the claim wrote, which the results' write puts in their carried records
    // instead of reading it back; with `at_write`, the start the results' write claims
    // every job with (none was claimed before it ran). Empty when the claim failed.
    std::optional<BatchStart> start;
    bool at_write = false;
  };
  struct Written {
    std::string batch_id;
    std::uint32_t size = 0;
    std::chrono::microseconds exec{0};
    std::vector<JobOutcome> outcomes;
    std::optional<BatchStart> start;  // as Claimed's
    bool at_write = false;
  };

  // How a batch's results will be had when it is collected.
  enum class Stage {
    kNothingToRun,  // no job of it was claimed (cancelled, or taken by a newer attempt)
    kNoHandler,     // this worker lacks the type: every job fails with unknown_type
    kRunAtCollect,  // a one-phase handler: Handler::Run when collected
    kOnDevice,      // a two-phase handler took it: Handler::Collect(ticket)
    kLaunchFailed,  // Handler::Launch refused it (launch_error); out of memory runs split
  };

  // A batch from its launch on the device to the collection of its results.
  struct Launched {
    Claimed claimed;
    std::vector<std::string_view> inputs;  // views into claimed.batch; claimed jobs only
    std::vector<std::size_t> index;        // each input's position in the batch
    Stage stage = Stage::kNothingToRun;
    Handler* handler = nullptr;  // set from kRunAtCollect on
    int ticket = 0;              // kOnDevice
    Error launch_error;          // kLaunchFailed
    std::chrono::steady_clock::time_point start;
    WallMicros launched_at{0};  // `start` on the wall clock, for the job records
  };

  void ClaimLoop();
  void RunLoop();
  void WriteLoop();
  // Marks the batch's jobs running, with the claimer's connection (held through
  // claimer_busy_); or, for a type claimed at write, leaves that to the results' write.
  Claimed ClaimBatch(wire::Batch batch);
  // The next claimed batch for the run thread, claimed here when the thread would only
  // wait for the claim thread; with `wait` false (a batch in flight), only one already
  // claimed. Sets `stopped` when the thread must return.
  std::optional<Claimed> NextToRun(bool wait, bool& stopped);
  // Collects the batch in flight and charges it from `previous_end`, which it moves on.
  Written CollectInFlight(Launched& in_flight, std::chrono::steady_clock::time_point& previous_end);
  // Writes one batch's results with the writer's connection (held through writer_busy_)
  // and queues its DONE; `then_idle` when the run thread writes and has nothing left.
  void WriteBatch(Written written, bool then_idle);
  // Picks the claimed jobs and launches them when the handler is two-phase. Heap
  // allocated so the input views never move.
  std::unique_ptr<Launched> Launch(Claimed claimed);
  // Waits for (or runs) the batch; its outcomes, one per claimed job.
  std::vector<JobOutcome> Collect(Launched& launched);
  // Calls `call` until it succeeds, pausing longer each time; once the executor is
  // stopping, it gives up after `tries_when_stopping` more failures.
  template <class Call>
  auto WithRetry(Call&& call, int tries_when_stopping) -> decltype(call());

  const Options options_;
  Handlers handlers_;
  RunningJobs running_;  // what the handlers' cancellation checks read
  WakeSignal& done_signal_;
  RedisConnection redis_;  // the claimer's
  JobStore store_;
  RedisConnection writer_redis_;
  JobStore writer_store_;

  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::condition_variable claimed_ready_;
  std::condition_variable written_ready_;
  std::deque<wire::Batch> queue_;
  std::deque<Claimed> to_run_;
  std::deque<Written> to_write_;
  std::vector<wire::Done> done_;
  std::map<const Handler*, std::chrono::microseconds> device_seen_;  // run thread only
  std::atomic<bool> stop_{false};
  bool claimer_done_ = false;  // guarded by mutex_
  bool runner_done_ = false;   // guarded by mutex_
  // An idle run thread claims and writes its batches itself (a hand-off to another
  // thread is a wake-up on the job's path); each connection is used by one thread at a
  // time, which these mark.
  bool runner_idle_ = true;    // guarded by mutex_: nothing in flight or to collect
  bool claimer_busy_ = false;  // guarded by mutex_: a thread is claiming with store_
  bool writer_busy_ = false;   // guarded by mutex_: a thread is writing with writer_store_
  Counts counts_;              // guarded by mutex_
  ClaimTiming claim_timing_;   // guarded by mutex_
  std::thread claimer_;
  std::thread runner_;
  std::thread writer_;
};

}  // namespace batchq
