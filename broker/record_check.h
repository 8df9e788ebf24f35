#pragma once
// Checks that submitted jobs have a record in Redis, on a thread of its own, so that
// the broker's loop never waits on Redis for it. A gateway stores every job before it
// submits it; a peer holding a stolen gateway key could otherwise fill the queues with
// jobs no one stored. Two kinds of check: a held SUBMIT waits for its answer before the
// core sees it (while junk has been seen lately); an audit looks at jobs the core has
// already taken, and names those without a record so they can be withdrawn; audits wait
// a few milliseconds for company. Everything that queued while one check ran goes into
// the next as one pipeline (one EXISTS for all when every record is there). Enqueue(), Audit(),
// Take*() and unchecked_jobs() are thread-safe; the wake fd becomes readable when answers are
// ready.

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "common/job_store.h"
#include "common/redis_connection.h"
#include "common/wake_signal.h"
#include "common/wire.h"

namespace batchq {

class RecordCheck {
 public:
  struct Checked {
    std::string routing;  // the gateway's
    wire::Submit submit;
    // Per job, whether its record exists; an error when Redis could not say.
    Result<std::vector<bool>> exist;
  };

  RecordCheck(RedisConnection::Options redis, JobStore::Options store);
  ~RecordCheck();  // stops and joins; unchecked submits are left to the gateway's timeout
  RecordCheck(const RecordCheck&) = delete;
  RecordCheck& operator=(const RecordCheck&) = delete;

  // A SUBMIT held until its jobs are checked.
  void Enqueue(std::string routing, wire::Submit submit);
  // Jobs already admitted, checked after the fact.
  void Audit(std::vector<std::string> ids);
  // The held submits checked since the last call, in the order they were enqueued.
  std::vector<Checked> TakeChecked();
  // Audited jobs found without a record since the last call. An audit Redis could not
  // answer names none.
  std::vector<std::string> TakeMissing();
  // Jobs handed in and not answered yet.
  std::size_t unchecked_jobs() const;
  int wake_fd() const { return ready_.fd(); }
  void DrainWake() { ready_.Drain(); }

 private:
  struct Waiting {
    std::string routing;
    wire::Submit submit;
  };
  void Loop();
  // Runs one check for `held` and `audited`; the lock is not held.
  void Check(std::vector<Waiting> held, std::vector<std::string> audited,
             std::vector<Checked>& checked, std::vector<std::string>& missing);

  RedisConnection redis_;
  JobStore store_;
  WakeSignal ready_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Waiting> waiting_;
  std::vector<std::string> audits_;
  std::vector<Checked> checked_;
  std::vector<std::string> missing_;
  std::size_t unchecked_jobs_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace batchq
