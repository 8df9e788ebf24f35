#pragma once
// The batching decision, with no sockets, no Redis and no clock of its own: the
// caller passes `now` (steady clock) into every call, so tests drive time by hand.
//
// Per job type: a queue ordered by priority (higher first), FIFO within a priority.
// A batch closes when it holds max_batch_size jobs ("full") or when its oldest job
// has waited max_delay ("max_delay"), and is handed out only for a type the caller
// can dispatch now (a worker with a free credit). While no worker is free, queues
// simply grow toward a full batch.
// Not thread-safe: owned by the broker's event loop.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/error.h"
#include "common/type_settings.h"

namespace batchq {

using MonotonicTime = std::chrono::steady_clock::time_point;

struct QueuedJob {
  std::string id;
  std::int32_t priority = 0;
  std::uint32_t attempts = 0;  // attempts already made; the next dispatch is attempts + 1
  std::string input;           // JSON text
  MonotonicTime enqueued{};
};

enum class CloseReason { kFull, kMaxDelay };
std::string_view ToString(CloseReason reason);

struct ReadyBatch {
  std::string type;
  std::vector<QueuedJob> jobs;
  CloseReason reason = CloseReason::kFull;
};

class BatchPolicy {
 public:
  // `defaults` apply to types first seen through AddType(name) without settings.
  explicit BatchPolicy(TypeSettings defaults);

  // Adds a type or replaces its settings; queued jobs stay.
  void Configure(const TypeSettings& settings);
  // Adds a type with the default settings if it is not known yet.
  void AddType(std::string_view name);
  bool Knows(std::string_view type) const;

  // Queues a new job. Errors: unknown_type, queue_full (the type's max_queue reached).
  Status Enqueue(std::string_view type, QueuedJob job);
  // Puts jobs back at the front of their priority level (their worker was lost or the
  // broker recovered them), ignoring max_queue: accepted work is never refused twice.
  void Requeue(std::string_view type, std::vector<QueuedJob> jobs);

  struct Decision {
    std::optional<ReadyBatch> batch;
    // When a queued batch will reach its deadline; nullopt when nothing is waiting on time.
    std::optional<MonotonicTime> wake_at;
  };
  // The next batch to dispatch at `now`, among types for which `can_dispatch` is true.
  // Call again until it returns no batch. Types are visited round-robin so one busy
  // type cannot starve another.
  Decision Next(MonotonicTime now, const std::function<bool(std::string_view)>& can_dispatch);

  std::size_t Depth(std::string_view type) const;
  std::vector<TypeSettings> Types() const;

 private:
  struct TypeQueue {
    TypeSettings settings;
    std::map<std::int32_t, std::deque<QueuedJob>, std::greater<>> levels;
    std::size_t depth = 0;

    MonotonicTime Oldest() const;
    std::vector<QueuedJob> Take(std::size_t count);
  };

  TypeQueue* Find(std::string_view type);
  const TypeQueue* Find(std::string_view type) const;

  const TypeSettings defaults_;
  std::unordered_map<std::string, TypeQueue> queues_;
  std::vector<std::string> order_;  // round-robin order of type names
  std::size_t next_type_ = 0;
};

}  // namespace batchq
