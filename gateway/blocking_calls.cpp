#include "gateway/blocking_calls.h"

#include <utility>

#include "common/thread_name.h"

namespace batchq {
namespace {
// The pool whose thread this is; null on every other thread.
thread_local const BlockingCalls* serving = nullptr;
}  // namespace

BlockingCalls::BlockingCalls(Options options) : options_(options) {
  const unsigned threads = options_.threads == 0 ? 1 : options_.threads;
  threads_.reserve(threads);
  for (unsigned i = 0; i < threads; ++i)
    threads_.emplace_back([this] {
      NameThisThread("blocking-call");
      serving = this;
      Serve();
    });
}

bool BlockingCalls::OnItsThread() const { return serving == this; }

BlockingCalls::~BlockingCalls() { Stop(); }

bool BlockingCalls::Run(std::function<void()> call) {
  {
    const std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= options_.max_queued) {
      ++counts_.refused;
      return false;
    }
    queue_.push_back(std::move(call));
  }
  wake_.notify_one();
  return true;
}

void BlockingCalls::Stop() {
  {
    const std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

Error BlockingCalls::FullError() {
  return Error{ErrorCode::kOverloaded,
               "The gateway holds as many calls waiting for Redis as it may; retry shortly."};
}

BlockingCalls::Counts BlockingCalls::counts() const {
  const std::lock_guard lock(mutex_);
  return counts_;
}

void BlockingCalls::Serve() {
  for (;;) {
    std::function<void()> call;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything run
      call = std::move(queue_.front());
      queue_.pop_front();
    }
    call();
    const std::lock_guard lock(mutex_);
    ++counts_.ran;
  }
}

}  // namespace batchq
