#pragma once
// Parsing and validation of submit bodies. Pure: no I/O. Errors carry the HTTP
// API's codes: invalid_json (not JSON at all) and invalid_request (wrong shape).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/job_limits.h"

namespace batchq {

struct JobRequest {
  std::string type;
  std::string input;  // the "input" value re-serialised as compact JSON
  std::int32_t priority = 0;
  std::int64_t timeout_ms = 0;  // dispatch deadline after acceptance; 0: the type's default
  // Retries after retryable failures and the first one's backoff; -1: the type's default.
  std::int32_t max_retries = -1;
  std::int64_t retry_backoff_ms = -1;
  std::string callback_url;  // checked by ParseWebUrl; empty: no webhook
};

// True for application/json, with or without parameters, in any case.
bool IsJsonContentType(std::string_view content_type);

// {"type": "...", "input": <any JSON>, "priority"?: int, "timeout_ms"?: int,
//  "max_retries"?: int, "retry_backoff_ms"?: int, "callback_url"?: string}
Result<JobRequest> ParseJobRequest(std::string_view body);

// {"jobs": [ <job>, ... ]}: the outer error fails the whole request; each item keeps
// its own result so one bad item does not refuse the others.
Result<std::vector<Result<JobRequest>>> ParseBatchRequest(std::string_view body,
                                                          std::size_t max_jobs);

}  // namespace batchq
