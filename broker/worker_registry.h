#pragma once
// Live workers, their credits and their liveness: the one owner of credit counts.
// Pure bookkeeping: the caller passes `now` in. Which batches a worker holds is the
// BrokerCore's business; the registry counts them. Not thread-safe.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/batch_policy.h"
#include "common/wire.h"

namespace batchq {

struct WorkerInfo {
  std::string routing;  // ZeroMQ routing id on the backend socket
  wire::Ready ready;    // name, types, credits, backend, device as announced
  MonotonicTime last_seen{};
  // The broker's heartbeat ticks since it last heard from the worker: a pause of the
  // broker's own (a frozen VM, SIGSTOP) passes time but no ticks, so it is not the
  // worker's silence.
  std::uint32_t ticks_unheard = 0;
  std::uint64_t batches_done = 0;
  std::uint32_t in_flight = 0;  // batches sent and not yet DONE
  bool exclusive = false;       // runs a suspect job alone: takes nothing else until DONE

  bool Serves(std::string_view type) const;
  std::uint32_t free_credits() const {
    return in_flight >= ready.credits ? 0 : ready.credits - in_flight;
  }
};

class WorkerRegistry {
 public:
  // Adds the worker, or resets it if the same routing id announces itself again.
  const WorkerInfo& Register(std::string routing, wire::Ready ready, MonotonicTime now);
  const WorkerInfo* Find(std::string_view routing) const;
  void Touch(std::string_view routing, MonotonicTime now);

  // Picks a worker serving `type` for one batch and takes one of its credits; nullptr
  // if none can take it. Not exclusive: the worker with the most free credits (ties:
  // least recently picked). Exclusive (a suspect job): an idle worker, which then takes
  // nothing else until the batch is done.
  const WorkerInfo* Assign(std::string_view type, bool exclusive);
  // Gives back the credit of one batch the worker finished (or that never reached it).
  void Release(std::string_view routing, bool finished);
  // Free credits, idle workers and worker count for one type, for the BatchPolicy.
  Capacity CapacityFor(std::string_view type) const;
  std::uint32_t CountServing(std::string_view type) const;

  // Removes and returns workers silent for longer than `max_silence` over at least
  // `min_ticks` of the broker's heartbeat ticks.
  std::vector<WorkerInfo> RemoveSilent(MonotonicTime now, std::chrono::milliseconds max_silence,
                                       std::uint32_t min_ticks);
  // One heartbeat tick of the broker's went by: every worker has one more tick unheard.
  void OnTick();
  std::optional<WorkerInfo> Remove(std::string_view routing);

  const std::unordered_map<std::string, WorkerInfo>& workers() const { return workers_; }

 private:
  WorkerInfo* PickFor(std::string_view type);
  WorkerInfo* PickIdleFor(std::string_view type);

  std::unordered_map<std::string, WorkerInfo> workers_;
  std::uint64_t picks_ = 0;
  std::unordered_map<std::string, std::uint64_t> last_pick_;
};

}  // namespace batchq
