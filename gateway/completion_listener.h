#pragma once
// Subscribes to the job-change channel in Redis (job_change.h) on a private thread,
// wakes the long-poll waiters of the jobs that ended, and feeds every change to the
// event streams' hub (which it also ticks, for their heartbeats). Resubscribes by itself
// after Redis goes away, and wakes every waiter (and tells the hub of the gap) once it is
// back, since notices may have been missed meanwhile. Tells the waiters whether notices
// flow (CompletionWaiters::Listening), so that they hold jobs as unfinished only then.

#include <atomic>
#include <string>
#include <thread>

#include "common/redis_connection.h"
#include "gateway/completion_waiters.h"
#include "gateway/job_event_hub.h"

namespace batchq {

class CompletionListener {
 public:
  // `waiters` and `hub` (which may be null) must outlive the listener.
  CompletionListener(RedisConnection::Options redis, std::string channel,
                     CompletionWaiters& waiters, JobEventHub* hub = nullptr);
  ~CompletionListener();  // stops and joins
  CompletionListener(const CompletionListener&) = delete;
  CompletionListener& operator=(const CompletionListener&) = delete;

 private:
  void Loop();

  const RedisConnection::Options redis_options_;
  const std::string channel_;
  CompletionWaiters& waiters_;
  JobEventHub* const hub_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace batchq
