#pragma once
// The Lua scripts behind JobStore's state changes (job_store.h says what each change
// does and the schema they write). Each script's comment, beside its text, says its
// KEYS and ARGV. Statuses and field names in the texts come from the two tables
// (job_status.h, job_record.h), so none is spelled twice.

#include <array>

#include "common/job_record.h"
#include "common/redis_connection.h"

namespace batchq::job_scripts {

// The fields every ending by a worker's outcome writes (JobStore::Finish), and those a
// claim writes (the start script, and the finish script when it claims at write). The
// finish script's carried record (job_change.h) takes the values of these from the
// worker's text of them, and reads only the others.
inline constexpr std::array kEndingFields = {RecordField::kStatus,      RecordField::kAttempts,
                                             RecordField::kLaunched,    RecordField::kFinished,
                                             RecordField::kResult,      RecordField::kErrorCode,
                                             RecordField::kErrorMessage};
inline constexpr std::array kStartFields = {RecordField::kBatchId, RecordField::kBatchSize,
                                            RecordField::kWorker,  RecordField::kDispatched,
                                            RecordField::kStarted, RecordField::kCloseReason};
// The pairs the finish that claims at write gives a start that packs (packed_start.h): the
// worker and the packed start. One that does not pack gives kStartFields.
inline constexpr std::size_t kPackedStartPairs = 2;

extern const RedisScript kCreateIdempotentScript;
extern const RedisScript kStartScript;
extern const RedisScript kFinishScript;
extern const RedisScript kSettleScript;
extern const RedisScript kTerminateScript;
extern const RedisScript kCancelScript;
extern const RedisScript kRequeueScript;
extern const RedisScript kRemoveScript;
extern const RedisScript kReadStoredScript;

}  // namespace batchq::job_scripts
