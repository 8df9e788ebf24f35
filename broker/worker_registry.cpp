#include "broker/worker_registry.h"

#include <algorithm>

namespace batchq {

bool WorkerInfo::Serves(std::string_view type) const {
  return std::find(ready.types.begin(), ready.types.end(), type) != ready.types.end();
}

const WorkerInfo& WorkerRegistry::Register(std::string routing, wire::Ready ready,
                                           MonotonicTime now) {
  WorkerInfo& info = workers_[routing];
  info.routing = routing;
  info.ready = std::move(ready);
  info.last_seen = now;
  info.ticks_unheard = 0;
  info.in_flight = 0;
  info.exclusive = false;
  return info;
}

const WorkerInfo* WorkerRegistry::Find(std::string_view routing) const {
  const auto it = workers_.find(std::string(routing));
  return it == workers_.end() ? nullptr : &it->second;
}

void WorkerRegistry::Touch(std::string_view routing, MonotonicTime now) {
  if (const auto it = workers_.find(std::string(routing)); it != workers_.end()) {
    it->second.last_seen = now;
    it->second.ticks_unheard = 0;
  }
}

WorkerInfo* WorkerRegistry::PickFor(std::string_view type) {
  WorkerInfo* best = nullptr;
  std::uint64_t best_pick = 0;
  for (auto& [routing, info] : workers_) {
    if (info.free_credits() == 0 || info.exclusive || !info.Serves(type)) continue;
    const std::uint64_t last = last_pick_[routing];
    if (best == nullptr || info.free_credits() > best->free_credits() ||
        (info.free_credits() == best->free_credits() && last < best_pick)) {
      best = &info;
      best_pick = last;
    }
  }
  return best;
}

WorkerInfo* WorkerRegistry::PickIdleFor(std::string_view type) {
  for (auto& [routing, info] : workers_) {
    if (info.Serves(type) && info.in_flight == 0 && info.free_credits() > 0 && !info.exclusive) {
      return &info;
    }
  }
  return nullptr;
}

const WorkerInfo* WorkerRegistry::Assign(std::string_view type, bool exclusive) {
  WorkerInfo* worker = exclusive ? PickIdleFor(type) : PickFor(type);
  if (worker == nullptr) return nullptr;
  last_pick_[worker->routing] = ++picks_;
  ++worker->in_flight;
  worker->exclusive = exclusive;
  return worker;
}

void WorkerRegistry::Release(std::string_view routing, bool finished) {
  const auto it = workers_.find(std::string(routing));
  if (it == workers_.end()) return;
  WorkerInfo& info = it->second;
  if (info.in_flight > 0) --info.in_flight;
  if (info.in_flight == 0) info.exclusive = false;
  if (finished) ++info.batches_done;
}

Capacity WorkerRegistry::CapacityFor(std::string_view type) const {
  Capacity capacity;
  for (const auto& [routing, info] : workers_) {
    if (!info.Serves(type)) continue;
    ++capacity.workers;
    if (info.free_credits() == 0 || info.exclusive) continue;
    capacity.free_credit = true;
    if (info.in_flight == 0) capacity.idle_worker = true;
  }
  return capacity;
}

std::uint32_t WorkerRegistry::CountServing(std::string_view type) const {
  return static_cast<std::uint32_t>(
      std::count_if(workers_.begin(), workers_.end(),
                    [&](const auto& entry) { return entry.second.Serves(type); }));
}

std::vector<WorkerInfo> WorkerRegistry::RemoveSilent(MonotonicTime now,
                                                     std::chrono::milliseconds max_silence,
                                                     std::uint32_t min_ticks) {
  std::vector<WorkerInfo> removed;
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (now - it->second.last_seen > max_silence && it->second.ticks_unheard >= min_ticks) {
      last_pick_.erase(it->first);
      removed.push_back(std::move(it->second));
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
  return removed;
}

void WorkerRegistry::OnTick() {
  for (auto& [routing, worker] : workers_) ++worker.ticks_unheard;
}

std::optional<WorkerInfo> WorkerRegistry::Remove(std::string_view routing) {
  const auto it = workers_.find(std::string(routing));
  if (it == workers_.end()) return std::nullopt;
  WorkerInfo info = std::move(it->second);
  workers_.erase(it);
  last_pick_.erase(info.routing);
  return info;
}

}  // namespace batchq
