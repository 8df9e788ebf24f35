#pragma once
// Subscribes to the job-completion channel in Redis on a private thread and wakes
// the matching long-poll waiters. Resubscribes by itself after Redis goes away, and
// wakes every waiter once it is back, since notices may have been missed meanwhile.

#include <atomic>
#include <string>
#include <thread>

#include "common/redis_connection.h"
#include "gateway/completion_waiters.h"

namespace batchq {

class CompletionListener {
 public:
  // `waiters` must outlive the listener.
  CompletionListener(RedisConnection::Options redis, std::string channel,
                     CompletionWaiters& waiters);
  ~CompletionListener();  // stops and joins
  CompletionListener(const CompletionListener&) = delete;
  CompletionListener& operator=(const CompletionListener&) = delete;

 private:
  void Loop();

  const RedisConnection::Options redis_options_;
  const std::string channel_;
  CompletionWaiters& waiters_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace batchq
