#pragma once
// A waiter for one job's completion notice registered before the job is handed to the
// broker: no notice can come before that, so a submit that waits for its job
// (POST ?wait_ms) needs no first read of the record to learn whether it already ended.
// The notice is kept until OnEnd is given the callback, and the waiter is removed when
// the watch goes. Thread-safe.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "gateway/completion_waiters.h"

namespace batchq {

class EarlyWatch {
 public:
  // `waiters` must outlive the watch.
  EarlyWatch(CompletionWaiters& waiters, std::string job_id);
  ~EarlyWatch();
  EarlyWatch(const EarlyWatch&) = delete;
  EarlyWatch& operator=(const EarlyWatch&) = delete;

  using OnEndCallback = std::function<void(std::shared_ptr<const JobRecord> record)>;
  // Calls `on_end` once, with the record the notice carried (or null): now if the job's
  // notice came already, else on the notifying thread when it comes (so it must only
  // hand work off).
  void OnEnd(OnEndCallback on_end);

 private:
  // Shared with the waiter's callback, which may outlive the watch by a moment.
  struct Shared {
    std::mutex mutex;
    bool ended = false;
    std::shared_ptr<const JobRecord> record;  // what the notice carried
    OnEndCallback on_end;
  };
  CompletionWaiters& waiters_;
  const std::shared_ptr<Shared> shared_;
  std::uint64_t token_ = 0;
};

}  // namespace batchq
