#pragma once
// POST /v1/jobs and POST /v1/jobs:batch, as a request travels: parse and check
// (submit_admission.h) → persist through the commit port (group_commit.h: the I/O thread
// does not wait on Redis; the 202 is only ever sent for a durable job) → forward to the
// broker → answer with its verdicts. A job the broker refuses is taken
// out of Redis before the refusal is answered; if it cannot be taken out it stays
// accepted (202) and the broker's sweep queues it, so what the client is told is what
// happens. Thread-safe: Handle() may be called from any I/O thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "common/http_types.h"
#include "gateway/blocking_calls.h"
#include "gateway/broker_port.h"
#include "gateway/caller.h"
#include "gateway/destination_allow_list.h"
#include "gateway/job_commit_port.h"
#include "gateway/job_store_port.h"
#include "gateway/saturated_types.h"
#include "gateway/stored_bytes_quota.h"
#include "gateway/submit_admission.h"
#include "gateway/submit_answer.h"

namespace batchq {

class SubmitHandler {
 public:
  struct Options {
    AdmissionLimits limits;
    std::chrono::milliseconds submit_timeout{2000};
    // Fault injection for reliability tests only: exit the process right after the
    // Nth submit is durable and before it is forwarded, as a crash there would. 0: off.
    std::uint64_t fault_exit_after_persist = 0;
    // Why Redis cannot take new jobs now (StorageWatch), or nullopt; unset: never full.
    std::function<std::optional<std::string>()> storage_full;
    // Each tenant's cap on stored bytes; null: none. Must outlive the handler.
    StoredBytesQuota* stored_quota = nullptr;
    // A job is answered 202 only once its record reached this many Redis replicas
    // (WAIT, at most replicas_wait, done by the commit port, which must be set the
    // same); else it is withdrawn and answered 503 not_replicated. 0: once the master
    // has it (a failover may lose it).
    int replicas_ack = 0;
    std::chrono::milliseconds replicas_wait{1000};
    // Most jobs of submits between their checks and their answer (waiting for Redis, its
    // replicas or the broker's verdict); past it a submit is answered 503 overloaded
    // with Retry-After at once, so that a gateway under more load than it can take keeps
    // its answers fast instead of queueing. A submit alone is never refused by it.
    // 0: no bound.
    std::size_t max_in_flight_jobs = 0;
    // Where callback_url may point when it names an address (callback_admission.h).
    DestinationAllowList webhook_allow;
    // Where the steps that must call Redis run: a stale stored-bytes figure's read
    // (when it refuses: 503 overloaded), an idempotent replay's read and the withdrawal
    // of refused or unreplicated jobs (when it refuses: on an I/O thread). Null: all on
    // I/O threads. Must outlive the handler.
    BlockingCalls* blocking = nullptr;
  };
  // Runs a task on an I/O thread: the broker's answers arrive on its link's thread.
  using Post = std::function<void(std::function<void()>)>;
  // Called by Handle on the request's thread: where that request's answer is posted. The
  // gateway gives the I/O thread the request arrived on, whose connection the answer is
  // written to, so the answer takes one hop between threads, not two.
  using PostFrom = std::function<Post()>;

  // `store`, `commit` and `broker` must outlive the handler.
  SubmitHandler(Options options, JobStorePort& store, JobCommitPort& commit, BrokerPort& broker,
                PostFrom post_from);

  // Answers through `answer` exactly once; a 202 says what each item became. The jobs belong to the
  // caller's tenant; an Idempotency-Key is the tenant's own (another tenant's same key is another
  // key).
  // Called with the new jobs once every check passed and before they are written (so
  // also for a submit that turns out an idempotent replay, whose new job is then never
  // written), on the thread that hands them to the commit port: a submit that waits for
  // its jobs registers its waiters there, so that no ending can come first. Not after
  // the write: a broker that takes over recovers queued jobs from Redis, and may run
  // one before this gateway forwards it (docs/BENCHMARKS.md, issue 15 thirty-ninth
  // part). Must be thread-safe.
  using BeforeCommit = std::function<void(std::span<const NewJob>)>;
  void Handle(const HttpRequestIn& request, bool batch, const Caller& caller, SubmitRespond answer,
              BeforeCommit before_commit = {});
  // Jobs of submits between their checks and their answer, now.
  std::size_t in_flight_jobs() const { return in_flight_jobs_.load(); }

 private:
  struct Pending;

  // True when it answered: a single submit of a type the broker refuses by time
  // (saturated_types.h). A :batch's items of such types are refused each, the rest go on.
  bool ShedRefusingTypes(AdmittedSubmit& admitted, const wire::Status& status, Respond& respond);
  // True when it answered: a single submit whose callback_url may not be taken. A
  // :batch's such items are refused each.
  bool RefuseBadCallbacks(AdmittedSubmit& admitted, const Caller& caller, Respond& respond);
  // False when it answered 503 overloaded: options_.max_in_flight_jobs are in flight.
  bool ClaimInFlight(Pending& pending);
  // Remembers a broker's refusal by time, so the next submits of the type are shed here.
  void NoteRefusalByTime(const NewJob& job, const wire::Verdict& verdict);
  // True when it answered: the tenant's stored bytes have no room for these jobs. A batch
  // is admitted or refused whole.
  bool RefusedForStoredBytes(Pending& pending);
  // The stored-bytes check, then the commit (whose answer is posted on).
  void CheckQuotaAndCommit(std::shared_ptr<Pending> pending);
  void OnCommitted(std::shared_ptr<Pending> pending, JobCommitPort::Outcome outcome);
  // Whether answering this outcome calls Redis (a replay's read, a withdrawal).
  bool AnswerCallsRedis(const JobCommitPort::Outcome& outcome) const;
  // Runs `task` on the blocking-call threads when there are some and they take it, else
  // through `post` (an I/O thread).
  void PostBlocking(std::function<void()> task, const Post& post);
  // False when it answered already (Redis down, a replay, a key conflict, too few
  // replicas).
  bool Persisted(Pending& pending, const JobCommitPort::Outcome& outcome);
  // False when it answered: the new records did not reach options_.replicas_ack replicas.
  bool Replicated(Pending& pending, const std::optional<Result<int>>& replicas);
  void Forward(std::shared_ptr<Pending> pending);
  void Answer(Pending& pending, Result<std::vector<wire::Verdict>> verdicts);
  HttpReply ReplayOf(const std::string& id);
  // Takes refused jobs (and their idempotency key) out of Redis; false if it could not.
  bool Withdraw(const Pending& pending, const std::vector<std::string>& refused);

  const Options options_;
  JobStorePort& store_;
  JobCommitPort& commit_;
  BrokerPort& broker_;
  const PostFrom post_from_;
  std::atomic<std::uint64_t> persisted_{0};
  std::atomic<std::size_t> in_flight_jobs_{0};
  SaturatedTypes saturated_;
};

}  // namespace batchq
