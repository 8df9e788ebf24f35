#pragma once
// The job record of DESIGN.md and its one schema. `kRecordSchema` lists every field
// the Redis hash `{prefix}job:{id}` can hold: its name and the JobRecord member it
// maps to. The reader (JobStore), every writer (creation, the Lua scripts' argument
// packing) and the tests go through it, so adding a field touches this file, the
// code that produces the value, and the JSON view.

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/job_status.h"
#include "common/wall_clock.h"

namespace batchq {

struct JobRecord {
  std::string id;
  std::string type;
  std::string tenant;  // of the key that submitted it; reads by other tenants see 404
  JobStatus status = JobStatus::kQueued;
  std::string input;  // JSON text
  std::int32_t priority = 0;
  std::uint32_t attempts = 0;
  WallMicros created{0};
  WallMicros dispatched{0};
  WallMicros started{0};   // the worker claimed it
  WallMicros launched{0};  // the worker's run stage handed it to its handler
  WallMicros finished{0};
  std::string batch_id;
  std::uint32_t batch_size = 0;
  std::string close_reason;  // why the broker closed the batch
  std::string worker;
  std::int64_t timeout_ms = 0;  // dispatch deadline after creation; 0: none
  std::string result;           // JSON text when status is succeeded
  std::string result_type;      // media type of a binary result; empty: none
  std::string error_code;       // an ErrorCode's name (error_code.h)
  std::string error_message;
  // JobStore's entry in the tenant's stored-bytes account: "<release minute> <bytes>"
  // (job_store.h). Not part of the API's view of a job.
  std::string storage;
  // The id of the API key that cancelled it ("unauthenticated" under --auth none); when
  // is finished.
  std::string cancelled_by;
  // Retries after a retryable failure (error_code.h IsRetryable): at most max_retries,
  // each after retry_backoff_ms doubled per retry taken, with jitter; `retries` counts
  // those taken. Lost workers count toward the broker's max_attempts instead.
  std::uint32_t max_retries = 0;
  std::int64_t retry_backoff_ms = 0;
  std::uint32_t retries = 0;
  // When a queued retry may be dispatched (a backoff, or POST :retry's moment); 0: at once.
  WallMicros retry_at{0};
  // The attempts that ended before this one, oldest first, as a JSON array of
  // {attempt, status, error_code, error_message, started_us, finished_us, worker, batch}
  // (at most kMaxHistory); empty: none.
  std::string history;
  // Where the job's final record is POSTed when it ends (a webhook; empty: nowhere), and
  // the id of the key whose webhook secret signs it.
  std::string callback_url;
  std::string webhook_key;
};

// The earlier attempts a record keeps in `history`.
inline constexpr std::size_t kMaxHistory = 20;

enum class RecordField {
  kId,
  kType,
  kTenant,
  kStatus,
  kInput,
  kPriority,
  kAttempts,
  kCreated,
  kDispatched,
  kStarted,
  kLaunched,
  kFinished,
  kBatchId,
  kBatchSize,
  kCloseReason,
  kWorker,
  kTimeoutMs,
  kResult,
  kResultType,
  kErrorCode,
  kErrorMessage,
  kStorage,
  kCancelledBy,
  kMaxRetries,
  kRetryBackoffMs,
  kRetries,
  kRetryAt,
  kHistory,
  kCallbackUrl,
  kWebhookKey,
};

struct RecordFieldSpec {
  RecordField field;
  std::string_view name;  // the hash field in Redis
  std::variant<std::string JobRecord::*, std::int32_t JobRecord::*, std::uint32_t JobRecord::*,
               std::int64_t JobRecord::*, WallMicros JobRecord::*, JobStatus JobRecord::*>
      member;
};

// One row per RecordField, in enum order.
inline constexpr std::array<RecordFieldSpec, 30> kRecordSchema{{
    {RecordField::kId, "id", &JobRecord::id},
    {RecordField::kType, "type", &JobRecord::type},
    {RecordField::kTenant, "tenant", &JobRecord::tenant},
    {RecordField::kStatus, "status", &JobRecord::status},
    {RecordField::kInput, "input", &JobRecord::input},
    {RecordField::kPriority, "priority", &JobRecord::priority},
    {RecordField::kAttempts, "attempts", &JobRecord::attempts},
    {RecordField::kCreated, "created_us", &JobRecord::created},
    {RecordField::kDispatched, "dispatched_us", &JobRecord::dispatched},
    {RecordField::kStarted, "started_us", &JobRecord::started},
    {RecordField::kLaunched, "launched_us", &JobRecord::launched},
    {RecordField::kFinished, "finished_us", &JobRecord::finished},
    {RecordField::kBatchId, "batch", &JobRecord::batch_id},
    {RecordField::kBatchSize, "batch_size", &JobRecord::batch_size},
    {RecordField::kCloseReason, "close_reason", &JobRecord::close_reason},
    {RecordField::kWorker, "worker", &JobRecord::worker},
    {RecordField::kTimeoutMs, "timeout_ms", &JobRecord::timeout_ms},
    {RecordField::kResult, "result", &JobRecord::result},
    {RecordField::kResultType, "result_type", &JobRecord::result_type},
    {RecordField::kErrorCode, "error_code", &JobRecord::error_code},
    {RecordField::kErrorMessage, "error_message", &JobRecord::error_message},
    {RecordField::kStorage, "storage", &JobRecord::storage},
    {RecordField::kCancelledBy, "cancelled_by", &JobRecord::cancelled_by},
    {RecordField::kMaxRetries, "max_retries", &JobRecord::max_retries},
    {RecordField::kRetryBackoffMs, "retry_backoff_ms", &JobRecord::retry_backoff_ms},
    {RecordField::kRetries, "retries", &JobRecord::retries},
    {RecordField::kRetryAt, "retry_at_us", &JobRecord::retry_at},
    {RecordField::kHistory, "history", &JobRecord::history},
    {RecordField::kCallbackUrl, "callback_url", &JobRecord::callback_url},
    {RecordField::kWebhookKey, "webhook_key", &JobRecord::webhook_key},
}};

constexpr bool SchemaInEnumOrder() {
  for (std::size_t i = 0; i < kRecordSchema.size(); ++i) {
    if (static_cast<std::size_t>(kRecordSchema[i].field) != i) return false;
  }
  return static_cast<std::size_t>(RecordField::kWebhookKey) + 1 == kRecordSchema.size();
}
static_assert(SchemaInEnumOrder(), "kRecordSchema must list every RecordField once, in order");

std::string_view FieldName(RecordField field);

// Sets the member `name` maps to from its Redis text; unknown names are ignored (a
// newer writer's field), unparsable numbers read as 0. The packed start
// (packed_start.h) sets the five members it holds.
void SetField(JobRecord& record, std::string_view name, std::string_view value);
// The Redis text of one field of `record`.
std::string FieldText(const JobRecord& record, RecordField field);
// The same as a view: of the record's own string, or of the text of a number or state
// added to `texts`, a container whose strings stay where they are as it grows (a deque,
// or a vector reserved for them all).
template <class Texts>
std::string_view FieldView(const JobRecord& record, RecordField field, Texts& texts) {
  const auto& member = kRecordSchema[static_cast<std::size_t>(field)].member;
  if (const auto* text = std::get_if<std::string JobRecord::*>(&member)) return record.*(*text);
  return texts.emplace_back(FieldText(record, field));
}

// Field/value pairs for HSET (or a Lua script's argument list): the names and the
// texts of `fields` of `record`. String fields are views into `record`, which must
// outlive this object; the texts of numbers and states are owned here.
class RecordFields {
 public:
  RecordFields(const JobRecord& record, std::span<const RecordField> fields);
  RecordFields(const JobRecord& record, std::initializer_list<RecordField> fields)
      : RecordFields(record, std::span<const RecordField>(fields.begin(), fields.size())) {}
  // Adds one more pair; `value` must outlive this object (a literal, a table's name).
  RecordFields& Add(RecordField field, std::string_view value) {
    pairs_.push_back(FieldName(field));
    pairs_.push_back(value);
    return *this;
  }
  // name, value, name, value, ...; views into this object and the record.
  const std::vector<std::string_view>& pairs() const { return pairs_; }
  std::size_t count() const { return pairs_.size() / 2; }

 private:
  std::vector<std::string> texts_;  // reserved up front: views into it stay valid
  std::vector<std::string_view> pairs_;
};

}  // namespace batchq
