#include "gateway/progress_demand.h"

#include <utility>

namespace batchq {

ProgressDemand::ProgressDemand(std::chrono::milliseconds linger,
                               std::function<void()> wake_listener)
    : linger_(linger), wake_listener_(std::move(wake_listener)) {}

ProgressDemand::Answer ProgressDemand::Await(Clock::time_point now,
                                             std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (!last_wanted_ || *last_wanted_ < now) last_wanted_ = now;
  if (!flowing_ && !refused_) {
    lock.unlock();
    if (wake_listener_) wake_listener_();
    lock.lock();
    changed_.wait_for(lock, timeout, [this] { return flowing_ || refused_; });
  }
  if (flowing_) return Answer::kFlowing;
  return refused_ ? Answer::kRefused : Answer::kNotYet;
}

bool ProgressDemand::Wanted(Clock::time_point now, std::size_t streams) {
  std::lock_guard lock(mutex_);
  if (streams > 0) {
    if (!last_wanted_ || *last_wanted_ < now) last_wanted_ = now;
    return true;
  }
  const bool wanted = last_wanted_ && now - *last_wanted_ < linger_;
  // In the same step, so that no Await counts on a channel the listener is about to
  // leave: one that comes after waits for the subscription made again.
  if (!wanted) flowing_ = false;
  return wanted;
}

void ProgressDemand::Flowing(bool flowing) {
  {
    std::lock_guard lock(mutex_);
    flowing_ = flowing;
    if (flowing) refused_ = false;
  }
  changed_.notify_all();
}

void ProgressDemand::Refused(bool refused) {
  {
    std::lock_guard lock(mutex_);
    refused_ = refused;
  }
  changed_.notify_all();
}

bool ProgressDemand::flowing() const {
  std::lock_guard lock(mutex_);
  return flowing_;
}

}  // namespace batchq
