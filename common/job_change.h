#pragma once
// A job's state change as the change channels carry it: the scripts that queue, start
// and end jobs publish one message per call, each change a line
// "id<TAB>status<TAB>attempt<TAB>tenant<TAB>type", lines joined by '\n'. Endings go on
// {prefix}done, which every gateway hears to wake its long-polls; jobs queued and
// started go on {prefix}progress, which a gateway hears only while it has event streams
// open (progress_demand.h), so that the others are not woken twice more per job. Both
// feed the event streams.
//
// The script that ends jobs with a worker's outcome also publishes, just before its
// changes, one message of *carried records*. Each is the change line of an ended job
// followed by one more field per non-empty field of kCarriedFields but the three the
// line holds (id, tenant, type), in no set order:
// "name=value", where each backslash, TAB and newline of the value is written as a
// backslash and then '\\', 't' or 'n' (AppendCarriedField). Only jobs whose fields
// so written total at most kMaxCarriedRecordBytes are carried. A
// long-poll woken by one answers from it, without reading Redis again. A reader that
// predates this finds more than five fields, so it skips those lines; the plain change
// that follows still wakes its waiters.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/job_record.h"
#include "common/job_status.h"

namespace batchq {

struct JobChange {
  std::string id;
  JobStatus status = JobStatus::kQueued;
  std::int64_t attempt = 0;  // the record's attempts when the change was written
  std::string tenant;        // empty without authentication
  std::string type;
  // A carried-record line's fields after the type, as written (escaped); empty on a
  // plain line. Parsed by CarriedRecord only when someone waits for the job: every
  // gateway receives every ending.
  std::string carried{};
};

// A change line's parts as views of the message it was read from, for a reader done
// with each change while the message lives: the gateway's listener hears every ending of
// every job, and copying each line's parts was most of its parsing (docs/BENCHMARKS.md).
struct JobChangeView {
  std::string_view id;
  JobStatus status = JobStatus::kQueued;
  std::int64_t attempt = 0;
  std::string_view tenant;
  std::string_view type;
  std::string_view carried;

  JobChangeView() = default;
  explicit JobChangeView(const JobChange& change);
  JobChange Owned() const;
};

// The channels' names under a key prefix ("bq:"): written here once, for the scripts'
// callers (JobStore) and the gateway's listener alike.
inline std::string DoneChannel(std::string_view key_prefix) {
  return std::string(key_prefix) + "done";
}
inline std::string ProgressChannel(std::string_view key_prefix) {
  return std::string(key_prefix) + "progress";
}

// The most bytes of fields as written, names and escapes included, a carried record
// holds after its change line: every gateway receives every carried record, so large
// ones are read instead.
inline constexpr std::size_t kMaxCarriedRecordBytes = 8192;

// The fields a carried record holds: every one the job's API view (RenderJob) shows or a
// caller's visibility needs, so a wait answers from it as from a read. Left out: the
// input (the largest, and never shown), the stored-bytes entry, the webhook's key and
// the type's backoff setting.
inline constexpr std::array kCarriedFields = {
    RecordField::kId,         RecordField::kType,         RecordField::kTenant,
    RecordField::kStatus,     RecordField::kPriority,     RecordField::kAttempts,
    RecordField::kCreated,    RecordField::kDispatched,   RecordField::kStarted,
    RecordField::kLaunched,   RecordField::kFinished,     RecordField::kBatchId,
    RecordField::kBatchSize,  RecordField::kCloseReason,  RecordField::kWorker,
    RecordField::kTimeoutMs,  RecordField::kResult,       RecordField::kResultType,
    RecordField::kErrorCode,  RecordField::kErrorMessage, RecordField::kCancelledBy,
    RecordField::kMaxRetries, RecordField::kRetries,      RecordField::kRetryAt,
    RecordField::kHistory,    RecordField::kCallbackUrl,
};

// The carried fields a record gets only at its creation, of those not in the change line:
// a new record holds their carried text (each field as AppendCarriedField writes it) in
// one more field, kCreationCarriedField, which the finish script appends to a carried
// record as it is instead of reading and escaping each of them (docs/BENCHMARKS.md). The
// carried fields a record gets later (retries, retry_at_us, history, cancelled_by) are
// absent while that field is there: the scripts that write them delete it, and a record
// without it (written before it existed, or since changed) has its fields read one by one.
// The finish takes the text on a job's first attempt only, since scripts older than it
// (a rolling upgrade) retried jobs without deleting it.
inline constexpr std::array kCreationCarriedFields = {
    RecordField::kPriority, RecordField::kCreated, RecordField::kTimeoutMs,
    RecordField::kMaxRetries, RecordField::kCallbackUrl};
inline constexpr std::array kLaterCarriedFields = {
    RecordField::kRetries, RecordField::kRetryAt, RecordField::kHistory, RecordField::kCancelledBy};
inline constexpr std::string_view kCreationCarriedField = "carried";
// The longest creation's carried text a record is given; a longer one (a long callback
// URL) is not written. Redis keeps a small hash as a listpack only while each value is
// at most hash-max-listpack-value (64 bytes by default): past it the record would become
// a hash table, three times the memory (docs/BENCHMARKS.md). Numbers that are zero are
// left out of the text, as they read back the same when absent.
inline constexpr std::size_t kMaxCreationCarriedBytes = 64;

// One line, without its '\n' (the carried fields, if any, are not written).
std::string FormatJobChange(const JobChange& change);
// The same line appended to `out`: a submit group writes all its queued changes into one
// message, and formatting each into a string of its own cost more than its HSET's
// arguments (docs/BENCHMARKS.md).
void AppendJobChange(std::string& out, const JobChangeView& change);
// Appends one field of a carried record to `out`: "\tname=value", escaped as above;
// nothing when `value` is empty.
void AppendCarriedField(std::string& out, std::string_view name, std::string_view value);
// Every well-formed line of a message; lines that are not (an older writer's bare ids,
// an unknown status) are skipped and counted in `*skipped` when given.
std::vector<JobChange> ParseJobChanges(std::string_view message, std::size_t* skipped = nullptr);
// The same, viewing `message`, which must outlive the views.
std::vector<JobChangeView> ParseJobChangeViews(std::string_view message,
                                               std::size_t* skipped = nullptr);
// The record a carried-record line holds (its kCarriedFields; the rest left empty); null
// for a plain line, or when a field does not parse or the record names another job.
std::shared_ptr<const JobRecord> CarriedRecord(const JobChangeView& change);
inline std::shared_ptr<const JobRecord> CarriedRecord(const JobChange& change) {
  return CarriedRecord(JobChangeView(change));
}

}  // namespace batchq
