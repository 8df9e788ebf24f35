#pragma once
// The batching decision, with no sockets, no Redis and no clock of its own: the
// caller passes `now` (steady clock) into every call, so tests drive time by hand.
//
// Per job type, one queue fed to every worker (adding workers never fragments
// batches). Within a type, tenants take turns by weighted fair share (stride
// scheduling: each job served advances its tenant's pass by 1/weight, the tenant with
// the lowest pass goes next, and a tenant that had nothing queued starts at the
// current pass, so it cannot bank turns): one tenant's flood delays another's job by
// about one batch, not by the backlog. Within a tenant, jobs go by effective
// priority: a job's priority plus one level per `aging_step` it has waited, so low
// priorities are served within a bounded wait; FIFO among equals. A batch closes, when a worker of
// the type has a free credit, for the first of these reasons:
//   full       max_batch_size jobs are queued
//   bytes      the queued inputs reach max_batch_bytes
//   preferred  a preferred batch size is reached (the largest one that is)
//   deadline   a member's dispatch deadline (timeout_ms) has come
//   max_delay  the oldest member has waited max_delay (a hard upper bound)
//   idle_worker  a worker sits idle and, by the learned cost a + b·n and the arrival
//              rate, the queue already holds enough to keep up: waiting would not pay
// While every worker is busy, batches grow for free. Jobs past their deadline expire
// even while no worker is free. A suspect job (in flight on a worker that died) at the
// head of its queue goes alone ("isolated"), and only to an idle worker.
// Not thread-safe: owned by the broker's event loop.

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/cost_model.h"
#include "broker/monotonic_time.h"
#include "common/error.h"
#include "common/string_view_hash.h"
#include "common/type_settings.h"

namespace batchq {

struct QueuedJob {
  std::string id;
  std::string tenant;  // whose turn it is decides fair share; empty is a tenant too
  std::int32_t priority = 0;
  std::uint32_t attempts = 0;  // attempts already made; the next dispatch is attempts + 1
  std::string input;           // JSON text
  MonotonicTime enqueued{};
  // Must be dispatched by then, else it expires; nullopt: no limit (or the type's default).
  std::optional<MonotonicTime> deadline;
  // It was in flight on a worker that died: it runs alone, on an idle worker that gets
  // nothing else meanwhile, so that a crash during its run is its own.
  bool suspect = false;
};

enum class CloseReason { kFull, kBytes, kPreferred, kDeadline, kMaxDelay, kIdleWorker, kIsolated };
std::string_view ToString(CloseReason reason);

struct ReadyBatch {
  std::string type;
  std::vector<QueuedJob> jobs;
  CloseReason reason = CloseReason::kFull;
  bool exclusive = false;  // a suspect alone: give it an idle worker and nothing else
};

struct ExpiredJob {
  std::string type;
  std::string id;
  std::chrono::microseconds waited{0};
};

// What the workers of one type can take right now.
struct Capacity {
  bool free_credit = false;   // some worker can take a batch now
  bool idle_worker = false;   // some worker has nothing in flight at all
  std::uint32_t workers = 0;  // workers serving the type
};

// What a submitting key says about its tenant (api_key.h).
struct TenantLimits {
  std::uint32_t weight = 1;      // share of each job type, relative to other tenants
  std::uint64_t max_queued = 0;  // most queued jobs over all types; 0: no cap
  // Most bytes of input queued over all types: what a tenant may make Redis and the
  // broker hold for it; 0: no cap.
  std::uint64_t max_queued_bytes = 0;
};

// Batch sizes are counted in power-of-two buckets: bucket 0 holds size 1, bucket i
// sizes 2^(i-1)+1 .. 2^i, and the last bucket everything larger (over 1024).
inline constexpr std::size_t kBatchSizeBuckets = 12;
std::size_t BatchSizeBucket(std::size_t size);

class BatchPolicy {
 public:
  struct Options {
    TypeSettings defaults;  // for types added by name (AddType)
    // One priority level gained per this much waiting; zero disables aging.
    std::chrono::milliseconds aging_step{100};
    // The longest a job stays queued, whatever its own deadline (or none): every
    // queued job's life is finite. Counted from its arrival (`enqueued`).
    std::chrono::milliseconds queue_lifetime{std::chrono::hours(24)};
  };

  explicit BatchPolicy(Options options);
  explicit BatchPolicy(TypeSettings defaults) : BatchPolicy(Options{std::move(defaults)}) {}

  // Adds a type or replaces its settings; queued jobs stay.
  void Configure(const TypeSettings& settings);
  // Adds a type with the default settings if it is not known yet.
  void AddType(std::string_view name);
  bool Knows(std::string_view type) const;

  // Queues a new job (its `enqueued` time counts as its arrival). Errors: unknown_type,
  // queue_full (the type's max_queue reached), quota_exceeded (the job's tenant holds
  // limits.max_queued queued jobs). The tenant's weight becomes limits.weight.
  Status Enqueue(std::string_view type, QueuedJob job, TenantLimits limits = {});
  // Puts jobs back at the front of their priority level (their worker was lost or the
  // broker recovered them), ignoring max_queue: accepted work is never refused twice.
  // The type must be known (a bug otherwise: std::logic_error).
  void Requeue(std::string_view type, std::vector<QueuedJob> jobs);
  // Takes a queued job out (it was cancelled); false when it is not queued here.
  bool Remove(std::string_view id);
  // How long a batch of `size` may stay with its worker: the type's max_run, or else
  // ten times its learned cost, at least kMaxRunFloor.
  std::chrono::milliseconds MaxRun(std::string_view type, std::uint32_t size) const;
  static constexpr std::chrono::milliseconds kMaxRunFloor{60'000};

  // Feeds the cost model with one finished batch.
  void ObserveBatch(std::string_view type, std::uint32_t size, std::chrono::microseconds exec);

  struct Decision {
    std::optional<ReadyBatch> batch;
    std::vector<ExpiredJob> expired;  // taken out of the queues; report them
    // When to ask again even if nothing else happens; nullopt: only on new events.
    std::optional<MonotonicTime> wake_at;
  };
  // Expires overdue jobs, then returns the next batch to dispatch, if any. Call again
  // until it returns no batch. Types are visited round-robin.
  Decision Next(MonotonicTime now, const std::function<Capacity(std::string_view)>& capacity);

  // How long a refused submitter should wait: the queue's drain time at the measured
  // dispatch rate, at least one second.
  std::chrono::seconds RetryAfter(std::string_view type, MonotonicTime now) const;

  // How long a job queued now would wait for the jobs ahead of it: the queued jobs over
  // the faster of the measured dispatch rate and what `workers` manage with full batches
  // at the learned cost (the measured rate alone reads an idle type as slow). nullopt:
  // no rate is known (nothing dispatched or observed yet) or no worker serves the type,
  // so a type is never refused by time while its workers are still starting.
  std::optional<std::chrono::microseconds> ProjectedWait(std::string_view type,
                                                         std::uint32_t workers,
                                                         MonotonicTime now) const;
  struct QueueWaitRefusal {
    Error error;  // queue_wait_exceeded, with the projection in its sentence
    // Until the projected wait is back under the bound, in whole seconds (1 to 300).
    std::chrono::seconds retry_after{1};
  };
  // Admission by time: a refusal while the projected wait is past the type's
  // max_queue_wait; nullopt when it is within it, unknown, or the type has no bound.
  // True when the type has a max_queue_wait: only then is RefuseForQueueWait worth its
  // worker count.
  bool BoundsQueueWait(std::string_view type) const;
  std::optional<QueueWaitRefusal> RefuseForQueueWait(std::string_view type, std::uint32_t workers,
                                                     MonotonicTime now) const;

  struct TypeStats {
    TypeSettings settings;
    std::size_t depth = 0;
    std::chrono::microseconds oldest_wait{0};
    double cost_fixed_us = 0;
    double cost_per_item_us = 0;
    double arrivals_per_s = 0;
    double dispatched_per_s = 0;
    // Batches dispatched since start, by size bucket (see BatchSizeBucket).
    std::array<std::uint64_t, kBatchSizeBuckets> batch_sizes{};
  };
  std::vector<TypeStats> Stats(MonotonicTime now) const;
  std::size_t Depth(std::string_view type) const;
  // Queued jobs of one tenant, over every type.
  std::size_t TenantDepth(std::string_view tenant) const;
  // Bytes of input the tenant has queued, over all types.
  std::size_t TenantBytes(std::string_view tenant) const;

 private:
  struct Slot {
    QueuedJob job;
    std::uint64_t seq;
  };
  struct DeadlineEntry {
    MonotonicTime deadline;
    std::uint64_t seq;
    std::string id;
    bool operator>(const DeadlineEntry& other) const { return deadline > other.deadline; }
  };
  using Levels = std::map<std::int32_t, std::deque<Slot>, std::greater<>>;
  // One tenant's jobs of one type. Never erased once made, so pointers to it stay valid.
  struct TenantQueue {
    Levels levels;
    std::size_t live = 0;   // live jobs in `levels`
    std::size_t bytes = 0;  // their inputs' bytes
    double pass = 0;        // stride scheduling; see the header comment
    std::uint32_t weight = 1;
  };
  struct TypeQueue {
    TypeSettings settings;
    std::unordered_map<std::string, TenantQueue, StringViewHash, std::equal_to<>> tenants;
    double virtual_time = 0;         // the pass of the tenant served last
    std::size_t active_tenants = 0;  // tenants with live jobs
    // id -> its live slot; slots whose seq differs were cancelled or expired and are
    // skipped lazily. Keys view the slot's own id: deque elements never move while
    // they are in a deque, and a key is erased before its slot leaves.
    struct Live {
      std::uint64_t seq;
      std::size_t bytes;
      MonotonicTime enqueued;
      TenantQueue* tenant;
    };
    std::unordered_map<std::string_view, Live, StringViewHash> live;
    std::size_t bytes = 0;
    std::priority_queue<DeadlineEntry, std::vector<DeadlineEntry>, std::greater<>> deadlines;
    BatchCostModel cost;
    RateMeter arrivals;
    RateMeter dispatched;
    std::array<std::uint64_t, kBatchSizeBuckets> batch_sizes{};
  };

  // `member` of the tenant's queue of every type, added up.
  std::size_t SumForTenant(std::string_view tenant, std::size_t TenantQueue::*member) const;
  TypeQueue* Find(std::string_view type);
  const TypeQueue* Find(std::string_view type) const;
  // Queues `job` at the back (or front) of its level; `weight`, when given, becomes its
  // tenant's.
  void Push(TypeQueue& queue, QueuedJob job, bool front, std::optional<std::uint32_t> weight);
  // Takes a live entry out (its slot is skipped later), keeping the counts right.
  void Unlive(TypeQueue& queue, decltype(TypeQueue::live)::iterator entry);
  bool IsLive(const TypeQueue& queue, const Slot& slot) const;
  void DropDeadFronts(TypeQueue& queue);
  // The tenant whose turn it is: live jobs and the lowest pass; null when none.
  TenantQueue* NextTenant(TypeQueue& queue);
  std::optional<MonotonicTime> EarliestDeadline(TypeQueue& queue);
  MonotonicTime Oldest(TypeQueue& queue);
  void Expire(const std::string& type, TypeQueue& queue, MonotonicTime now,
              std::vector<ExpiredJob>& out);
  // The level whose front goes next within a tenant (highest rank, then oldest);
  // fronts must be live.
  std::deque<Slot>* BestLevel(TenantQueue& tenant, MonotonicTime now);
  // The level whose front goes next in the type: the next tenant's best level.
  std::deque<Slot>* NextLevel(TypeQueue& queue, MonotonicTime now);
  std::vector<QueuedJob> Take(TypeQueue& queue, std::size_t count, MonotonicTime now);
  // Batch size that keeps up with arrivals at the learned cost; see the header comment.
  double TargetSize(const TypeQueue& queue, std::uint32_t workers, MonotonicTime now) const;

  const Options options_;
  std::unordered_map<std::string, TypeQueue, StringViewHash, std::equal_to<>> queues_;
  std::vector<std::string> order_;  // round-robin order of type names
  std::size_t next_type_ = 0;
  std::uint64_t next_seq_ = 1;
};

}  // namespace batchq
