#pragma once
// Every decision the broker takes, with no sockets and no Redis: events go in with the
// time, effects come out. The core owns the batching policy, the workers and their
// credits (WorkerRegistry), the batches in flight (once), the ids it knows (queued, in
// flight, or ended but not yet written), the lost-run counts that make a job a suspect,
// and the terminal writes still owed to Redis. The broker process (Broker) is the shell
// that receives messages, calls the core, sends what it returns and applies the Redis
// effects on another thread. Not thread-safe: one thread drives it.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "broker/batch_policy.h"
#include "broker/worker_registry.h"
#include "common/error_code.h"
#include "common/job_record.h"
#include "common/wire.h"

namespace batchq {

// The two clocks an event happens at: steady for deadlines and liveness, wall for the
// timestamps in job records.
struct Now {
  MonotonicTime steady{};
  WallMicros wall{0};
};

struct Outbound {
  std::string routing;  // ZeroMQ routing id of the peer
  wire::Message message;
};

// Jobs the broker ended (expired, worker_lost), owed to Redis.
struct JobEnding {
  std::vector<std::string> ids;
  JobStatus status = JobStatus::kFailed;
  ErrorCode code = ErrorCode::kWorkerLost;
  std::string message;
  // The lease epoch of the broker that decided it: Redis takes it only while that is
  // current (set by the shell).
  std::uint64_t epoch = 0;
};

struct Effects {
  std::vector<Outbound> to_gateways;
  std::vector<Outbound> to_workers;
  std::vector<JobEnding> endings;

  bool empty() const { return to_gateways.empty() && to_workers.empty() && endings.empty(); }
};

// Told what the core decided, for metrics. Every method has a no-op default.
class BrokerObserver {
 public:
  virtual ~BrokerObserver() = default;
  virtual void OnSubmit(std::string_view /*type*/, bool /*accepted*/) {}
  // One dispatched batch: why it closed and each member's time in the queue.
  virtual void OnBatch(std::string_view /*type*/, std::string_view /*close_reason*/,
                       std::span<const std::chrono::microseconds> /*queue_waits*/) {}
  virtual void OnJobsEnded(ErrorCode /*code*/, std::size_t /*count*/) {}
  // A batch its worker held past the type's max_run was taken back.
  virtual void OnBatchOverdue(std::string_view /*type*/) {}
  // Jobs of a done batch that failed retryably and wait for their backoff.
  virtual void OnRetriesHeld(std::string_view /*type*/, std::size_t /*count*/) {}
};

class BrokerCore {
 public:
  struct Options {
    BatchPolicy::Options policy;
    // The only types served: a worker announcing others is given none of them, and a
    // recovered job of a type not here ends unknown_type.
    std::vector<TypeSettings> types;
    std::chrono::milliseconds heartbeat_interval{1000};
    std::uint32_t heartbeat_liveness = 3;  // intervals of silence before a worker is dead
    std::uint32_t max_attempts = 3;        // lost runs before a job fails with worker_lost
    // A job Redis says is running, that no worker here holds, started longer ago than
    // this is taken as lost and run again (the attempt number fences the first run).
    std::chrono::milliseconds running_lease{60000};
    // Every tenant's cap on bytes of queued input (TenantLimits::max_queued_bytes).
    std::uint64_t tenant_max_queued_bytes = 0;
    std::string batch_prefix = "b";  // batch ids are "{prefix}-{counter}"
    // The lease epoch this core serves under (BrokerLease): stamped on every batch, so
    // that Redis lets its jobs start only while this broker is the active one.
    std::uint64_t epoch = 0;
  };

  // `observer` may be null; otherwise it must outlive the core.
  explicit BrokerCore(Options options, BrokerObserver* observer = nullptr);

  // Gateway side. Answers every SUBMIT with one ACCEPT (a verdict per job). `durable`
  // says, per job, whether its record exists in Redis (the shell looked); a job without
  // one is refused, since a gateway stores every job before it submits it. Empty: not
  // looked at (every job taken as durable).
  void OnSubmit(const std::string& gateway, wire::Submit submit, Now now, Effects& out,
                const std::vector<bool>& durable = {});
  // A job was cancelled in Redis: it leaves the queue (or its backoff), if it is still there; if it
  // runs, its worker is told (a CANCEL in out.to_workers), so its handler can stop early. Its batch
  // stays in flight until the worker reports it done; its result is refused by the finish script's
  // fence.
  void OnCancel(const wire::Cancel& cancel, Effects& out);

  // Worker side: READY, DONE, HEARTBEAT or DISCONNECT from `worker`. A DONE's retries
  // are held back for their backoff (wake_at() says when the first is due).
  void OnWorkerMessage(const std::string& worker, wire::Message message, Now now, Effects& out);
  // A message the shell could not deliver: a BATCH goes back to the front of its queue
  // without counting as a run. Call OnWorkerUnreachable afterwards.
  void OnUndelivered(const std::string& worker, const wire::Message& message);
  // A send to `worker` failed: it is gone, and what it held is lost.
  void OnWorkerUnreachable(const std::string& worker, Effects& out);

  // Every heartbeat_interval: declares silent workers dead, takes back batches held past
  // their max_run, by the clock and by the ticks since their dispatch (their jobs run
  // again under a new attempt; the worker's credit stays spent until it reports that
  // batch done, so a hung worker gets nothing more), and heartbeats the workers.
  void OnHeartbeatTick(Now now, Effects& out);
  // After events and at wake_at(): expires overdue jobs and dispatches ready batches.
  void OnTick(Now now, Effects& out);
  // When OnTick wants to be called again even if nothing happens; nullopt: on events only.
  std::optional<MonotonicTime> wake_at() const { return wake_at_; }

  // The recovery sweep, in two steps around the Redis reads the shell does: which of
  // the pending ids Redis holds are unknown here, then what to do with their records.
  std::vector<std::string> UnknownIds(std::vector<std::string> pending) const;
  void OnSweep(std::vector<JobRecord> records, Now now, Effects& out);
  // The shell wrote these endings to Redis: the core may forget their ids.
  void OnEndingsWritten(std::span<const std::string> ids);

  wire::Status BuildStatus(std::uint64_t seq, MonotonicTime now) const;
  const WorkerRegistry& workers() const { return workers_; }
  std::size_t in_flight_batches() const { return in_flight_.size(); }
  std::size_t delayed_retries() const { return delayed_.size(); }
  bool Knows(std::string_view id) const { return known_.contains(std::string(id)); }

 private:
  struct InFlight {
    std::string worker;
    std::string type;
    std::vector<QueuedJob> jobs;
    MonotonicTime run_deadline{};  // dispatch + the type's max_run
    // Heartbeat ticks since dispatch, and how many of them cover max_run: held past
    // run_deadline is overdue only once the broker has also ticked that often, so a
    // pause of the broker's own (whose first tick on waking comes before the DONEs
    // that arrived meanwhile) takes no batch back.
    std::uint32_t ticks = 0;
    std::uint32_t ticks_for_max_run = 1;
  };

  void OnReady(const std::string& worker, wire::Ready ready, Now now, Effects& out);
  void OnDone(const std::string& worker, const wire::Done& done, Now now);
  void Dispatch(Now now, Effects& out);
  // Queues the retries whose backoff is over.
  void ReleaseDueRetries(Now now);
  wire::Verdict Admit(wire::SubmitJob& job, Now now);
  void Send(const WorkerInfo& worker, ReadyBatch& ready, Now now, Effects& out);
  void LoseWorker(const std::string& worker, Effects& out);
  // Takes the worker's batches back: each member counts a lost run and becomes a
  // suspect, or fails with worker_lost past max_attempts.
  void RequeueLostBatch(InFlight lost, const std::string& failure_message, Effects& out);
  void TakeBackOverdue(Now now, Effects& out);
  void End(std::vector<std::string> ids, JobStatus status, ErrorCode code, std::string message,
           Effects& out);
  void Expire(std::vector<ExpiredJob> expired, Effects& out);
  std::string WorkerLostMessage() const;

  const Options options_;
  BrokerObserver* const observer_;
  BatchPolicy policy_;
  WorkerRegistry workers_;
  std::unordered_map<std::string, InFlight> in_flight_;  // by batch id
  // Batches taken back from a worker that still holds them: batch id -> worker. Its DONE
  // returns the credit (the results were fenced off); losing the worker forgets them.
  std::unordered_map<std::string, std::string> overdue_;
  // Queued, in flight, or ended and not yet written: the sweep leaves these alone.
  std::unordered_set<std::string> known_;
  // Runs of a job lost with its worker while it held them. Only these count toward
  // max_attempts: a batch never delivered never ran.
  std::unordered_map<std::string, std::uint32_t> lost_runs_;
  std::optional<MonotonicTime> wake_at_;
  std::uint64_t batch_counter_ = 0;
  // Jobs queued again in Redis after a retryable failure, held back until their backoff
  // is over (then queued like any other), by when that is. Known (known_) meanwhile.
  struct Delayed {
    std::string type;
    QueuedJob job;
  };
  std::multimap<MonotonicTime, Delayed> delayed_;
};

}  // namespace batchq
