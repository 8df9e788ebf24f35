#pragma once
// The routes that read or cancel one job, or list the newest: GET /v1/jobs/{id}
// (with ?wait_ms long-polls), GET /v1/jobs/{id}/result, DELETE /v1/jobs/{id} and
// GET /v1/jobs?limit=N. A long-poll holds a timer and a waiter entry, never a thread;
// every decision about one wait is taken on one I/O thread, one at a time, so exactly
// one answer goes out. A job the caller may not see (another tenant's) is answered exactly like one
// that does not exist, on every route. Thread-safe: the methods may be called from any
// I/O thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/counter.h>

#include "common/http_types.h"
#include "common/io_threads.h"
#include "gateway/broker_port.h"
#include "gateway/caller.h"
#include "gateway/completion_waiters.h"
#include "gateway/early_watch.h"
#include "gateway/job_read_port.h"
#include "gateway/job_store_port.h"
#include "gateway/recent_endings.h"
#include "gateway/submit_answer.h"

namespace batchq {

class JobReads {
 public:
  struct Options {
    std::chrono::milliseconds max_wait{60000};  // upper bound of ?wait_ms
    // Where the long-polls and the waits of POST ?wait_ms read their records (GroupRead:
    // off the I/O threads, many in one round trip); null: through `store` on the calling
    // thread. Must outlive this object.
    JobReadPort* group_read = nullptr;
    // Counts, when set, the long-polls that read their job first and those that did
    // not need to (the job was created here and has not ended since).
    prometheus::Counter* first_reads_made = nullptr;
    prometheus::Counter* first_reads_skipped = nullptr;
    // Where GETs and long-polls find the records of jobs created here that succeeded a
    // moment ago, without reading; null: they read. Must outlive this object.
    RecentEndings* endings = nullptr;
    // Counts, when set, the reads answered from `endings`.
    prometheus::Counter* reads_from_endings = nullptr;
  };
  static constexpr std::int64_t kDefaultListLimit = 20;
  static constexpr std::int64_t kMaxListLimit = 200;

  // Everything passed in must outlive this object.
  // A wait's timer and decisions go on the calling I/O thread's context of `io`.
  JobReads(IoThreads& io, Options options, JobStorePort& store, BrokerPort& broker,
           CompletionWaiters& waiters);

  void Get(std::string id, std::string_view query, const Caller& caller, Respond respond);
  // For a submit that may wait (submit_wait.h): once `accepted`, its 202, names job `id`,
  // waits like a long-poll (at most `wait`, capped at max_wait) for the job to end and
  // answers 200 with the ended job (and the 202's Location), or `accepted` if it has not
  // ended by then.
  // With `watch` (registered for the job before the broker had it: early_watch.h), the
  // wait needs no first read: it is answered when the watch sees the end, or when `wait`
  // is over.
  void AwaitEnd(std::string id, std::chrono::milliseconds wait, const Caller& caller,
                HttpReply accepted, Respond respond, std::shared_ptr<EarlyWatch> watch = nullptr);
  // The same for a :batch that may wait: once every accepted item's job has ended
  // (within `wait`), answers 200 with {"jobs":[...]}, each accepted item the whole job
  // and each refused one its error as in the 202; else `accepted`, the 202.
  // With `watches` (one per accepted item, in order, registered before the broker had
  // the jobs), the wait needs no first read.
  void AwaitBatchEnd(std::vector<SubmitItemOutcome> items, std::chrono::milliseconds wait,
                     const Caller& caller, HttpReply accepted, Respond respond,
                     std::vector<std::shared_ptr<EarlyWatch>> watches = {});
  // The caller's tenant's newest jobs; an admin sees every tenant's, or one with ?tenant=.
  void List(std::string_view query, const Caller& caller, Respond respond);
  void GetResult(const std::string& id, const Caller& caller, Respond respond);
  void Cancel(const std::string& id, const Caller& caller, Respond respond);

  // A job's record as a caller may see it: a view of a record held elsewhere (a read's
  // answer, an ended record a notice carried), so answering copies no record; null when
  // there is no such job or the caller may not see it.
  using SeenRecord = Result<const JobRecord*>;

 private:
  struct WaitState;
  struct BatchWaitState;
  void Wait(std::shared_ptr<WaitState> state, std::chrono::milliseconds wait_for);
  // On the wait's thread: the timer that ends the wait by reading the job.
  void ArmTimer(const std::shared_ptr<WaitState>& state, std::chrono::milliseconds wait_for);
  // Answers the wait: from `ended` when a notice carried the job's ended record, else
  // after reading the job.
  void FinishWait(const std::shared_ptr<WaitState>& state,
                  const std::shared_ptr<const JobRecord>& ended = nullptr);
  // A wait whose waiter was registered early: a timer, and the watch's end.
  void WaitWatched(std::shared_ptr<WaitState> state, std::chrono::milliseconds wait_for,
                   std::shared_ptr<EarlyWatch> watch);
  // On the batch wait's thread: registers the waiters, then reads the jobs once.
  void StartBatchWait(const std::shared_ptr<BatchWaitState>& state, std::chrono::milliseconds wait);
  // The same with early waiters: a timer, and each watch's end.
  void StartWatchedBatchWait(const std::shared_ptr<BatchWaitState>& state,
                             std::chrono::milliseconds wait,
                             std::vector<std::shared_ptr<EarlyWatch>> watches);
  void OnBatchNotice(const std::shared_ptr<BatchWaitState>& state, std::size_t job,
                     std::shared_ptr<const JobRecord> record);
  void FinishBatchWait(const std::shared_ptr<BatchWaitState>& state);
  // After the batch wait's first read, on its thread: answers if every job ended (or the
  // read failed), else sets the timer.
  void ContinueBatchWait(const std::shared_ptr<BatchWaitState>& state,
                         std::chrono::milliseconds wait, const JobReadPort::Records& records);
  // Reads through options_.group_read, or the store; `done` may run on another thread,
  // or inside this call. A refused read is done with 503 overloaded.
  void ReadRecords(std::vector<std::string> ids, JobReadPort::Done done);
  // The 200 with every job ended, or the 202 when one has not (or cannot be read).
  // `records`: one per accepted job, in order, null where there is none; empty when
  // the read failed.
  static HttpReply BatchReply(BatchWaitState& state, std::span<const JobRecord* const> records);
  // What a finished wait answers: the job, or the submit's 202 if it has not ended.
  static HttpReply FinalReply(WaitState& state, const SeenRecord& record);
  // The job's JSON, 404 or 503, from one read of the store.
  static HttpReply JobReply(const SeenRecord& record, const Caller& caller);
  // The record if the caller may see it: another tenant's job reads as no job.
  Result<std::optional<JobRecord>> Visible(std::string_view id, const Caller& caller);

  IoThreads& io_;
  const Options options_;
  JobStorePort& store_;
  BrokerPort& broker_;
  CompletionWaiters& waiters_;
};

}  // namespace batchq
