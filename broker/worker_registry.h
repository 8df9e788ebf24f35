#pragma once
// Live workers, their credits and their liveness. Pure bookkeeping: the broker
// passes `now` in and does the socket work. Not thread-safe.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "broker/batch_policy.h"
#include "common/wire.h"

namespace batchq {

struct WorkerInfo {
  std::string routing;  // ZeroMQ routing id on the backend socket
  wire::Ready ready;    // name, types, credits, backend, device as announced
  std::uint32_t free_credits = 0;
  MonotonicTime last_seen{};
  std::uint64_t batches_done = 0;
  std::unordered_set<std::string> in_flight;  // batch ids
  bool exclusive = false;  // runs a suspect job alone: takes nothing else until DONE

  bool Serves(std::string_view type) const;
};

class WorkerRegistry {
 public:
  // Adds the worker, or resets it if the same routing id announces itself again.
  WorkerInfo& Register(std::string routing, wire::Ready ready, MonotonicTime now);
  WorkerInfo* Find(std::string_view routing);
  void Touch(std::string_view routing, MonotonicTime now);

  // The worker serving `type` with the most free credits (ties: least recently used).
  WorkerInfo* PickFor(std::string_view type);
  // A worker serving `type` with nothing in flight, for a suspect job; nullptr if none.
  WorkerInfo* PickIdleFor(std::string_view type);
  // Free credits, idle workers and worker count for one type, for the BatchPolicy.
  Capacity CapacityFor(std::string_view type) const;
  std::uint32_t CountServing(std::string_view type) const;

  // Removes and returns workers silent for longer than `max_silence`.
  std::vector<WorkerInfo> RemoveSilent(MonotonicTime now, std::chrono::milliseconds max_silence);
  std::optional<WorkerInfo> Remove(std::string_view routing);

  const std::unordered_map<std::string, WorkerInfo>& workers() const { return workers_; }

 private:
  std::unordered_map<std::string, WorkerInfo> workers_;
  std::uint64_t picks_ = 0;
  std::unordered_map<std::string, std::uint64_t> last_pick_;
};

}  // namespace batchq
