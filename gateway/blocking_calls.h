#pragma once
// A few threads for the gateway's work that blocks on Redis and has no group form (the
// routes that list jobs, read a result, cancel, :retry, keys, the dead-letter view,
// readiness; a replay's read and a withdrawal; the admission of a request whose key or
// stored-bytes figure must be read): run here, it never holds an I/O thread while Redis
// answers, so a slow or busy Redis does not stall the submits and polls that share
// those threads. Bounded: past `max_queued` calls waiting for a thread, Run refuses at
// once and the request is answered 503 overloaded (FullError). Thread-safe. Stop() (or
// the destructor) runs what is queued and joins the threads; call it while what the
// calls touch still exists.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "common/error.h"

namespace batchq {

class BlockingCalls {
 public:
  struct Options {
    unsigned threads = 2;
    std::size_t max_queued = 4096;
  };
  explicit BlockingCalls(Options options);
  ~BlockingCalls();
  BlockingCalls(const BlockingCalls&) = delete;
  BlockingCalls& operator=(const BlockingCalls&) = delete;

  // Queues `call` for one of the threads; false (and `call` dropped) when `max_queued`
  // calls already wait or the pool is stopping.
  bool Run(std::function<void()> call);
  // Idempotent; later calls are refused.
  void Stop();
  // Whether the caller runs on one of this pool's threads (so it may block there
  // instead of queueing another call).
  bool OnItsThread() const;
  // What a request refused by Run is told (503 overloaded).
  static Error FullError();

  struct Counts {
    std::uint64_t ran = 0;
    std::uint64_t refused = 0;
  };
  Counts counts() const;

 private:
  void Serve();

  const Options options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  Counts counts_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace batchq
