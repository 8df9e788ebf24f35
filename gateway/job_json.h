#pragma once
// The JSON views of the HTTP API's answers, all written with JsonWriter. Pure functions.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/job_record.h"
#include "common/job_store.h"
#include "common/json_writer.h"  // RenderError
#include "common/wire.h"

namespace batchq {

// The full job: id, type, status, priority, attempts, timestamps, timeline (µs since the
// Unix epoch), batch, worker, and result or error once terminal.
std::string RenderJob(const JobRecord& record);
// {"jobs":[<summary>...],"next_cursor"?:"N"}, for GET /v1/jobs: each job as RenderJob
// gives it but without result or error message (its error code and result_type stay).
std::string RenderJobList(const JobListPage& page);
// The 202 answer to one accepted job: id, status queued, type, priority, created_at.
std::string RenderQueued(const JobRecord& job);

// One entry of a :batch answer: the job accepted, or that item's own error.
struct SubmitItemView {
  const JobRecord* queued = nullptr;  // accepted; must outlive the rendering
  const JobRecord* ended = nullptr;   // accepted and waited for: the whole job, as GET's
  Error error;                        // otherwise
  std::int64_t retry_after_ms = 0;    // with queue_full
};
// {"jobs":[...]} for POST /v1/jobs:batch, one entry per item, in order.
std::string RenderSubmitResults(std::span<const SubmitItemView> items);

// GET /v1/types: the broker's types with their settings and queues, and its workers.
std::string RenderTypes(const wire::Status& status);
// GET /readyz.
// `storage_full`: why Redis takes no new jobs, when it does not.
std::string RenderReadiness(bool broker_ok, bool redis_ok,
                            const std::optional<std::string>& storage_full = std::nullopt);

}  // namespace batchq
