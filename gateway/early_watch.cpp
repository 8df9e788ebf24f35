#include "gateway/early_watch.h"

#include <utility>

namespace batchq {

EarlyWatch::EarlyWatch(CompletionWaiters& waiters, std::string job_id)
    : waiters_(waiters), shared_(std::make_shared<Shared>()) {
  token_ = waiters_.Add(std::move(job_id), [shared = shared_] {
    std::function<void()> on_end;
    {
      std::lock_guard lock(shared->mutex);
      shared->ended = true;
      on_end = std::move(shared->on_end);
    }
    if (on_end) on_end();
  });
}

EarlyWatch::~EarlyWatch() { waiters_.Remove(token_); }

void EarlyWatch::OnEnd(std::function<void()> on_end) {
  {
    std::lock_guard lock(shared_->mutex);
    if (!shared_->ended) {
      shared_->on_end = std::move(on_end);
      return;
    }
  }
  on_end();
}

}  // namespace batchq
