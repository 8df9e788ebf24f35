#pragma once
// The query string's parameters, as the routes read them. Pure.

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/error.h"
#include "common/job_store.h"

namespace batchq {

// Reads one non-negative integer query parameter; nullopt when absent, invalid_request
// (naming it) when it is not one.
Result<std::optional<std::int64_t>> QueryInt(std::string_view query, std::string_view name);
// Reads one query parameter's raw (undecoded) text; nullopt when absent.
std::optional<std::string_view> QueryText(std::string_view query, std::string_view name);
// ?status=, ?type= and ?cursor= of GET /v1/jobs (and the first two of GET /v1/events),
// for `tenant`; the query's views point into `text` and `tenant`.
Result<JobListQuery> ParseJobListQuery(std::string_view text, std::string_view tenant,
                                       std::size_t limit);

}  // namespace batchq
