#include "gateway/early_watch.h"

#include <utility>

namespace batchq {

EarlyWatch::EarlyWatch(CompletionWaiters& waiters, std::string job_id)
    : waiters_(waiters), shared_(std::make_shared<Shared>()) {
  token_ = waiters_.Add(std::move(job_id), [shared = shared_](auto record) {
    OnEndCallback on_end;
    {
      std::lock_guard lock(shared->mutex);
      shared->ended = true;
      shared->record = record;
      on_end = std::move(shared->on_end);
    }
    if (on_end) on_end(std::move(record));
  });
}

EarlyWatch::~EarlyWatch() { waiters_.Remove(token_); }

void EarlyWatch::OnEnd(OnEndCallback on_end) {
  std::shared_ptr<const JobRecord> record;
  {
    std::lock_guard lock(shared_->mutex);
    if (!shared_->ended) {
      shared_->on_end = std::move(on_end);
      return;
    }
    record = shared_->record;
  }
  on_end(std::move(record));
}

}  // namespace batchq
