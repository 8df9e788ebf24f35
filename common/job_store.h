#pragma once
// The Redis schema of DESIGN.md and every state change on it.
//   {prefix}job:{id}   hash: the job record; expires result_ttl after it ends. Until
//                      then it has no TTL: it is in `pending`, and a running broker ends
//                      it (expired at the latest a queue lifetime after its creation or
//                      retry, BrokerCore::OnSweep), so a per-job EXPIRE at creation would
//                      only cost a command
//   {prefix}pending    sorted set of accepted-not-finished ids, scored by creation (ms)
//   {prefix}recent     list of the newest ids, newest first, capped at kRecentJobs
//   {prefix}recent:{tenant}  the same, for one tenant's jobs
//   {prefix}done       pub/sub channel; terminal transitions publish their job ids,
//                      comma-separated, one message per batch
//   {prefix}stored:{tenant}      hash: the tenant's stored-bytes account. `total`: the
//                      bytes its records hold (input, result and binary result, plus
//                      kRecordOverheadBytes each); `e:{minute}`: the part of it released
//                      at the start of that Unix minute, by when those records expired
//   {prefix}stored:{tenant}:due  sorted set of the minutes in use (member = score)
//   {prefix}broker:epoch  the last epoch drawn; every broker that takes the lease raises it
//   {prefix}broker:lease  "<epoch> <holder>", expiring: the active broker's lease
// Each record's `storage` field says where it is counted ("<minute> <bytes>"), and
// every script that creates, ends or removes a record moves that entry with it, so the
// account follows records' expiry (to the minute) without keyspace notifications.
// Transitions that can race (a re-run finishing after the first run, a cancel against
// a start) are fenced by the attempt number, so a result is written once: Lua scripts,
// and a finish's optimistic transaction (finish_transaction.h), which Redis discards
// when a record it read changed before its EXEC.
// Not thread-safe: one JobStore per RedisConnection per thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/finish_transaction.h"
#include "common/job_record.h"
#include "common/redis_connection.h"
#include "common/wall_clock.h"

namespace batchq {

// A new job's record: id, type, priority, input, created and timeout_ms are read
// from a JobRecord; status, attempts and the rest start at their initial values.
using NewJob = JobRecord;

// Where and when a batch starts; written on every member the start claims.
struct BatchStart {
  std::string batch_id;
  std::uint32_t batch_size = 0;
  std::string worker;
  WallMicros dispatched{0};
  WallMicros started{0};
  std::string close_reason;
  // The epoch of the broker that dispatched it: the start claims nothing unless that is
  // still the current one ({prefix}broker:epoch), so a deposed broker runs nothing.
  std::uint64_t epoch = 0;
};

struct JobClaim {
  std::string id;
  std::uint32_t attempt = 0;
};

struct JobOutcome {
  std::string id;
  std::uint32_t attempt = 0;
  bool succeeded = false;
  std::string result;                               // JSON text when succeeded
  ErrorCode error_code = ErrorCode::kHandlerError;  // when failed
  std::string error_message;
  std::string blob;          // a binary result's bytes; empty: none
  std::string content_type;  // the blob's media type
  WallMicros launched{0};    // when the handler got the job's batch; 0: never ran
};

// A tenant's stored-bytes account, read for its quota.
struct StoredBytes {
  std::uint64_t bytes = 0;
  // The soonest moment part of them is released (since the epoch); 0: nothing held.
  std::chrono::seconds next_release{0};
};

enum class CancelOutcome { kCancelled, kNotFound, kEnded };
enum class RequeueOutcome { kQueued, kNotFound, kNotEnded };

// What the finish script did with one outcome.
struct FinishMark {
  enum class Kind {
    kRefused,   // the job no longer runs under that attempt (the fence)
    kWritten,   // it ended with this outcome
    kRetrying,  // a retryable failure with retries left: queued again, due after retry_in
  };
  Kind kind = Kind::kRefused;
  std::chrono::milliseconds retry_in{0};
};

struct CreateOutcome {
  bool created = true;       // this call created the jobs
  std::string id;            // with an idempotency key: the job the key names
  bool same_request = true;  // the key was first used with the same fingerprint
};

// An Idempotency-Key and the fingerprint of the request body that used it.
struct IdempotencyClaim {
  std::string_view key;
  std::string_view fingerprint;
};

// A page of GET /v1/jobs: of one tenant's recent jobs (empty: every tenant's), those
// of `status` and `type` when set, at most `limit`, from position `cursor` of the
// tenant's newest-first list.
struct JobListQuery {
  std::string_view tenant;
  std::optional<JobStatus> status;
  std::string_view type;
  std::size_t cursor = 0;
  std::size_t limit = 20;

  bool Matches(const JobRecord& record) const {
    return (!status || record.status == *status) && (type.empty() || record.type == type);
  }
};

// Summaries: records without input, result and error message. `next_cursor` is where
// the next page starts, when the list holds more past this one.
struct JobListPage {
  std::vector<JobRecord> jobs;
  std::optional<std::size_t> next_cursor;
};

class JobStore {
 public:
  // How many of the newest job ids {prefix}recent keeps (for the dashboard's list).
  static constexpr std::size_t kRecentJobs = 1000;
  // What a record costs Redis beyond its input and result bytes (the hash's other
  // fields, its key, its pending and recent entries), counted in the tenant's stored
  // bytes so that many small jobs are bounded as well as a few large ones. INFO
  // used_memory grew by 663 bytes per finished job of 3-byte input and result, over 10,000
  // (docs/SECURITY.md).
  static constexpr std::uint64_t kRecordOverheadBytes = 650;
  // The longest backoff before a retry, however many retries came before.
  static constexpr std::chrono::milliseconds kMaxRetryBackoff{std::chrono::hours(1)};
  // What a new job adds to its tenant's stored bytes when it is created.
  static std::uint64_t CreationBytes(const NewJob& job);

  struct Options {
    std::string key_prefix = "bq:";
    std::chrono::seconds result_ttl{std::chrono::hours(24)};
    // Finish by the script alone, never by a transaction (the same writes: for tests
    // that compare the two, and for benchmarks).
    bool finish_by_script = false;
    // The wall clock that records' times and stored-bytes minutes are read from.
    WallMicros (*wall_clock)() = NowWallMicros;
    // Tests only: called between a finish transaction's reads and its MULTI ... EXEC,
    // where a test changes what was read.
    std::function<void()> before_finish_write{};
  };

  // `redis` must outlive the store.
  JobStore(RedisConnection& redis, Options options);

  // Makes the jobs durable (record + pending entry + recent list) at once: the one
  // creation path, whose records are packed from kRecordSchema. With an idempotency
  // claim (one job), nothing is created when the key already names a job; the outcome
  // says which, and whether the body matched. The key is kept as long as results
  // (result_ttl).
  Result<CreateOutcome> Create(std::span<const NewJob> jobs,
                               std::optional<IdempotencyClaim> claim = std::nullopt);
  // Create without a claim for jobs of many requests (and tenants) at once: one
  // MULTI/EXEC, all made durable or none (the gateway's group commit).
  Status CreateGroup(std::span<const NewJob* const> group);
  // Frees a key whose job the broker refused, so that a retry can create it.
  Status ForgetIdempotencyKey(std::string_view key);
  // Removes records the broker refused, so a 4xx answer leaves nothing behind.
  Status Remove(std::span<const std::string> ids);
  // Takes ids out of the pending set whose records expired (nothing is left to run).
  Status ForgetPending(std::span<const std::string> ids);
  Result<std::optional<JobRecord>> Get(std::string_view id);
  // A page of the newest jobs, newest first, as summaries (JobListQuery): records that
  // expired or were discarded are skipped. Reads each record's small fields alone
  // (HMGET), never inputs or results, so a page of 1 MB jobs costs kilobytes.
  Result<JobListPage> RecentSummaries(const JobListQuery& query);
  Result<std::vector<std::optional<JobRecord>>> GetMany(std::span<const std::string> ids);
  // A binary result's bytes (kept apart from the record so that polls stay small);
  // nullopt when the job has none or it expired.
  Result<std::optional<std::string>> GetBlob(std::string_view id);
  // Cancels a queued or running job (a running job's result is then refused by the
  // finish script's fence), recording `cancelled_by`. On kEnded, `status_out` receives
  // the terminal status it already has. When `was_running` is given, it says whether
  // the job was running (its worker should be told).
  Result<CancelOutcome> Cancel(std::string_view id, std::string_view cancelled_by,
                               JobStatus* status_out, bool* was_running = nullptr);

  // Marks the jobs running if their attempt token is current; true for each claimed.
  Result<std::vector<bool>> Start(const BatchStart& batch, std::span<const JobClaim> jobs);
  // Writes each outcome if the job is still running under that attempt. A failure whose
  // code IsRetryable, of a job with retries left, queues it again instead (FinishMark),
  // after retry_backoff_ms doubled per retry taken (at most kMaxRetryBackoff) times a
  // jitter drawn from [0.5, 1].
  // With `claim_at_write`, the batch was never claimed (claim_timing.h): its jobs are
  // claimed by this write, as Start would have claimed them (queued, or running under an
  // older attempt, and only while its epoch is current), and written with its start.
  // Without it, `claimed_with` may name the start this worker's Start wrote for the jobs:
  // their carried records (job_change.h) then take it from here instead of reading it
  // back. It must be that very start; nothing is written from it.
  Result<std::vector<FinishMark>> Finish(std::span<const JobOutcome> outcomes,
                                         const BatchStart* claim_at_write = nullptr,
                                         const BatchStart* claimed_with = nullptr);
  // Queues an ended job (failed, expired or cancelled) again under its id (POST
  // :retry): its attempt goes to the history, its result and error are dropped, its
  // retry budget starts over, and it is pending again. On kNotEnded, `status_out`
  // receives the status it has.
  Result<RequeueOutcome> Requeue(std::string_view id, JobStatus* status_out);
  // Ends a job queued by Requeue that the broker refused, with the refusal as its
  // error; unfenced by the broker's epoch, since no broker holds the job.
  Status WithdrawRequeued(std::string_view id, ErrorCode code, std::string_view message);
  // Ends non-terminal jobs with `status` (failed or expired) and an error, whatever
  // attempt, for the broker of `epoch`; nothing when that epoch is no longer current.
  Result<std::vector<bool>> Terminate(std::span<const std::string> ids, JobStatus status,
                                      ErrorCode code, std::string_view message,
                                      std::uint64_t epoch);

  // Whether each job's record exists (one pipeline for all).
  Result<std::vector<bool>> RecordsExist(std::span<const std::string> ids);

  // Pending ids created at or before `created_before`, oldest first, after skipping
  // `offset` of them.
  Result<std::vector<std::string>> PendingCreatedBefore(WallMicros created_before,
                                                        std::size_t limit, std::size_t offset = 0);

  // The tenant's stored-bytes account as of `now`, after releasing what expired by then.
  Result<StoredBytes> ReadStoredBytes(std::string_view tenant, WallMicros now);

  // Blocks until the writes this connection made so far reached `replicas` replicas, or
  // `timeout` passed (Redis's WAIT); returns how many replicas confirmed them.
  Result<int> WaitForReplicas(int replicas, std::chrono::milliseconds timeout);

  // Succeeds when Redis answers.
  Status Ping();

  std::string JobKey(std::string_view id) const;
  // {prefix}job:{id}:blob, written by the Finish script next to the record.
  std::string BlobKey(std::string_view id) const;
  std::string IdempotencyKey(std::string_view key) const;
  std::string TenantRecentKey(std::string_view tenant) const;
  // {prefix}stored:{tenant}; its sorted set of minutes is that key + ":due".
  std::string StoredKey(std::string_view tenant) const;
  // {prefix}broker:epoch, the active broker's epoch (BrokerLease), which fences starts
  // and the broker's endings.
  const std::string& epoch_key() const { return epoch_key_; }

 private:
  Result<CreateOutcome> CreateClaimed(const NewJob& job, const IdempotencyClaim& claim);
  // Sends a group's MULTI/EXEC; when Redis refuses the PUBLISH at `publish_at` for the
  // user's ACL, sends it again without it.
  Status RunGroup(std::vector<std::vector<std::string_view>>& commands,
                  std::optional<std::size_t> publish_at);
  Result<std::vector<bool>> RunTerminate(std::span<const std::string> ids, JobStatus status,
                                         ErrorCode code, std::string_view message,
                                         std::string_view epoch_key, std::string_view epoch);
  // The finish as a transaction (finish_transaction.h); nullopt when the script must
  // write it.
  Result<std::optional<std::vector<FinishMark>>> FinishInTransaction(const FinishBatch& batch);
  // The finish by the finish script (job_store_scripts.cpp): every case, the rare ones
  // included.
  Result<std::vector<FinishMark>> FinishByScript(const FinishBatch& batch);
  Result<std::vector<bool>> RunFlagsScript(const RedisScript& script,
                                           std::span<const std::string_view> keys,
                                           std::span<const std::string_view> args,
                                           RedisConnection::Replay replay);

  RedisConnection& redis_;
  const Options options_;
  const std::string pending_key_;
  const std::string recent_key_;
  const std::string recent_last_;  // kRecentJobs - 1, as LTRIM's stop index
  const std::string done_channel_;
  const std::string progress_channel_;
  // Redis refused progress_channel_ to this user once: groups no longer publish on it.
  bool progress_refused_ = false;
  // Redis refused this user a finish transaction's command once (an ACL file from before
  // it): finishes go to the script from then on.
  bool transaction_refused_ = false;
  const std::string ttl_;  // result_ttl in seconds, as text
  // When an unfinished record's bytes leave its account: the longest queue wait and run
  // plus result_ttl, by when a running broker has ended it and it has expired.
  const std::chrono::seconds unfinished_lifetime_;
  const std::string stored_prefix_;  // {prefix}stored:
  const std::string epoch_key_;      // {prefix}broker:epoch
};

}  // namespace batchq
