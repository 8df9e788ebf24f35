#pragma once
// JSON shapes of the HTTP API's answers. Pure functions.

#include <string>
#include <string_view>

#include "common/job_store.h"
#include "common/json_writer.h"  // RenderError

namespace batchq {

// The full job: id, type, status, priority, attempts, timestamps, timeline (µs since the
// Unix epoch), batch, worker, and result or error once terminal.
std::string RenderJob(const JobRecord& record);

}  // namespace batchq
