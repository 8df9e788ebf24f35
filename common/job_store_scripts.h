#pragma once
// The Lua scripts behind JobStore's state changes (job_store.h says what each change
// does and the schema they write). Each script's comment, beside its text, says its
// KEYS and ARGV. Statuses and field names in the texts come from the two tables
// (job_status.h, job_record.h), so none is spelled twice.

#include "common/redis_connection.h"

namespace batchq::job_scripts {

extern const RedisScript kCreateIdempotentScript;
extern const RedisScript kStartScript;
extern const RedisScript kFinishScript;
extern const RedisScript kTerminateScript;
extern const RedisScript kCancelScript;
extern const RedisScript kRequeueScript;
extern const RedisScript kRemoveScript;
extern const RedisScript kReadStoredScript;

}  // namespace batchq::job_scripts
