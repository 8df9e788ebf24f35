#include "broker/batch_policy.h"

#include <algorithm>

#include <fmt/format.h>

namespace batchq {

std::string_view ToString(CloseReason reason) {
  switch (reason) {
    case CloseReason::kFull:
      return "full";
    case CloseReason::kMaxDelay:
      return "max_delay";
  }
  return "unknown";
}

BatchPolicy::BatchPolicy(TypeSettings defaults) : defaults_(std::move(defaults)) {}

void BatchPolicy::Configure(const TypeSettings& settings) {
  auto [it, inserted] = queues_.try_emplace(settings.name);
  it->second.settings = settings;
  if (inserted) order_.push_back(settings.name);
}

void BatchPolicy::AddType(std::string_view name) {
  if (Knows(name)) return;
  TypeSettings settings = defaults_;
  settings.name = std::string(name);
  Configure(settings);
}

bool BatchPolicy::Knows(std::string_view type) const { return Find(type) != nullptr; }

BatchPolicy::TypeQueue* BatchPolicy::Find(std::string_view type) {
  const auto it = queues_.find(std::string(type));
  return it == queues_.end() ? nullptr : &it->second;
}

const BatchPolicy::TypeQueue* BatchPolicy::Find(std::string_view type) const {
  const auto it = queues_.find(std::string(type));
  return it == queues_.end() ? nullptr : &it->second;
}

Status BatchPolicy::Enqueue(std::string_view type, QueuedJob job) {
  TypeQueue* queue = Find(type);
  if (queue == nullptr) {
    return Fail("unknown_type", fmt::format("No job type '{}' is configured or served.", type));
  }
  if (queue->depth >= queue->settings.max_queue) {
    return Fail("queue_full", fmt::format("The queue for '{}' holds its limit of {} jobs.", type,
                                          queue->settings.max_queue));
  }
  queue->levels[job.priority].push_back(std::move(job));
  ++queue->depth;
  return Ok();
}

void BatchPolicy::Requeue(std::string_view type, std::vector<QueuedJob> jobs) {
  AddType(type);
  TypeQueue* queue = Find(type);
  // Reverse order keeps the batch's original order at the front of each level.
  for (auto it = jobs.rbegin(); it != jobs.rend(); ++it) {
    queue->levels[it->priority].push_front(std::move(*it));
    ++queue->depth;
  }
}

MonotonicTime BatchPolicy::TypeQueue::Oldest() const {
  MonotonicTime oldest = MonotonicTime::max();
  for (const auto& [priority, level] : levels) {
    if (!level.empty()) oldest = std::min(oldest, level.front().enqueued);
  }
  return oldest;
}

std::vector<QueuedJob> BatchPolicy::TypeQueue::Take(std::size_t count) {
  std::vector<QueuedJob> batch;
  batch.reserve(std::min(count, depth));
  for (auto it = levels.begin(); it != levels.end() && batch.size() < count;) {
    auto& level = it->second;
    while (!level.empty() && batch.size() < count) {
      batch.push_back(std::move(level.front()));
      level.pop_front();
    }
    it = level.empty() ? levels.erase(it) : std::next(it);
  }
  depth -= batch.size();
  return batch;
}

BatchPolicy::Decision BatchPolicy::Next(MonotonicTime now,
                                        const std::function<bool(std::string_view)>& can_dispatch) {
  Decision decision;
  const std::size_t types = order_.size();
  for (std::size_t step = 0; step < types; ++step) {
    const std::size_t index = (next_type_ + step) % types;
    TypeQueue& queue = queues_.at(order_[index]);
    if (queue.depth == 0) continue;
    const auto& settings = queue.settings;
    const MonotonicTime deadline = queue.Oldest() + settings.max_delay;
    std::optional<CloseReason> reason;
    if (queue.depth >= settings.max_batch_size) {
      reason = CloseReason::kFull;
    } else if (now >= deadline) {
      reason = CloseReason::kMaxDelay;
    }
    if (!can_dispatch(order_[index])) continue;  // grows until a worker frees up
    if (!reason) {
      if (!decision.wake_at || deadline < *decision.wake_at) decision.wake_at = deadline;
      continue;
    }
    next_type_ = (index + 1) % types;
    decision.batch = ReadyBatch{order_[index], queue.Take(settings.max_batch_size), *reason};
    return decision;
  }
  return decision;
}

std::size_t BatchPolicy::Depth(std::string_view type) const {
  const TypeQueue* queue = Find(type);
  return queue == nullptr ? 0 : queue->depth;
}

std::vector<TypeSettings> BatchPolicy::Types() const {
  std::vector<TypeSettings> out;
  out.reserve(order_.size());
  for (const auto& name : order_) out.push_back(queues_.at(name).settings);
  return out;
}

}  // namespace batchq
