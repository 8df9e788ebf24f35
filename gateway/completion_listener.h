#pragma once
// Subscribes to the job-change channels in Redis (job_change.h) on a private thread,
// wakes the long-poll waiters of the jobs that ended, and feeds every change to the
// event streams' hub (which it also ticks, for their heartbeats). The endings channel is
// always heard; the progress channel (queued and started) only while `progress` wants
// it, that is while event streams are open. Resubscribes by itself after Redis goes
// away, and wakes every waiter (and tells the hub of the gap) once it is back, since
// notices may have been missed meanwhile. Tells the waiters whether notices flow
// (CompletionWaiters::Listening), so that they hold jobs as unfinished only then. The
// records carried for jobs created here that nobody waited for go to `endings`, when
// given, for the reads that follow.

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "common/redis_connection.h"
#include "common/wake_signal.h"
#include "gateway/completion_waiters.h"
#include "gateway/job_event_hub.h"
#include "gateway/progress_demand.h"
#include "gateway/recent_endings.h"

namespace batchq {

// The progress channel and the demand that says when to hear it.
struct ProgressFeed {
  std::string channel;
  ProgressDemand* demand = nullptr;  // must outlive the listener
};

class CompletionListener {
 public:
  // `waiters`, `hub` and `endings` (both may be null) must outlive the listener.
  // Without `progress`, only `channel` is heard.
  CompletionListener(RedisConnection::Options redis, std::string channel,
                     CompletionWaiters& waiters, JobEventHub* hub = nullptr,
                     ProgressFeed progress = {}, RecentEndings* endings = nullptr);
  ~CompletionListener();  // stops and joins
  CompletionListener(const CompletionListener&) = delete;
  CompletionListener& operator=(const CompletionListener&) = delete;

  // Thread-safe: the listener turns at once (to subscribe when the demand changed).
  void Wake() { wake_.Notify(); }

 private:
  void Loop();
  // Subscribes to or leaves the progress channel when the demand changed; false when the
  // connection was lost.
  bool FollowDemand(RedisConnection& redis);
  // How long the next wait for a notice may last.
  std::chrono::milliseconds TurnAtMost() const;
  void OnConfirmation(const RedisConnection::PubSubEvent& event);
  void OnMessage(const std::string& payload);

  const RedisConnection::Options redis_options_;
  const std::string channel_;
  CompletionWaiters& waiters_;
  JobEventHub* const hub_;
  RecentEndings* const endings_;
  const ProgressFeed progress_;
  WakeSignal wake_;
  std::atomic<bool> stop_{false};
  // The listener thread's own: whether it asked for the progress channel last, and how
  // many of its (UN)SUBSCRIBEs of it Redis has yet to confirm.
  bool progress_asked_ = false;
  int progress_unconfirmed_ = 0;
  bool gap_owed_ = false;  // resubscribed; the hub is told once the channels flow
  std::thread thread_;
};

}  // namespace batchq
