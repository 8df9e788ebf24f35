#include "gpu_worker/running_jobs.h"

namespace batchq {

void RunningJobs::Add(std::span<const std::string_view> inputs,
                      std::span<const std::string_view> ids) {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < inputs.size() && i < ids.size(); ++i) {
    std::string id(ids[i]);
    const bool cancelled = recent_cancels_.erase(id) > 0;
    by_id_[id] = inputs[i].data();
    by_input_[inputs[i].data()] = Job{std::move(id), cancelled};
  }
}

void RunningJobs::Remove(std::span<const std::string_view> inputs) {
  std::lock_guard lock(mutex_);
  for (const auto input : inputs) {
    const auto it = by_input_.find(input.data());
    if (it == by_input_.end()) continue;
    by_id_.erase(it->second.id);
    by_input_.erase(it);
  }
}

void RunningJobs::Cancel(std::string_view id) {
  std::lock_guard lock(mutex_);
  if (const auto it = by_id_.find(std::string(id)); it != by_id_.end()) {
    by_input_[it->second].cancelled = true;
    return;
  }
  if (!recent_cancels_.emplace(id).second) return;
  recent_order_.emplace_back(id);
  if (recent_order_.size() > kRecentCancels) {
    recent_cancels_.erase(recent_order_.front());
    recent_order_.pop_front();
  }
}

bool RunningJobs::Cancelled(std::string_view input) const {
  std::lock_guard lock(mutex_);
  const auto it = by_input_.find(input.data());
  return it != by_input_.end() && it->second.cancelled;
}

std::size_t RunningJobs::size() const {
  std::lock_guard lock(mutex_);
  return by_input_.size();
}

}  // namespace batchq
