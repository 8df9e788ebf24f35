#include "gateway/query_params.h"

#include <charconv>

#include <fmt/format.h>

#include "common/job_limits.h"

namespace batchq {

std::optional<std::string_view> QueryText(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
  }
  return std::nullopt;
}

Result<std::optional<std::int64_t>> QueryInt(std::string_view query, std::string_view name) {
  if (const auto found = QueryText(query, name)) {
    const std::string_view text = *found;
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value < 0) {
      return Fail(ErrorCode::kInvalidRequest,
                  fmt::format("'{}' must be a non-negative integer.", name));
    }
    return std::optional<std::int64_t>(value);
  }
  return std::optional<std::int64_t>();
}

Result<JobListQuery> ParseJobListQuery(std::string_view text, std::string_view tenant,
                                       std::size_t limit) {
  JobListQuery query;
  query.tenant = tenant;
  query.limit = limit;
  if (const auto status = QueryText(text, "status")) {
    query.status = ParseJobStatus(*status);
    if (!query.status) {
      return Fail(ErrorCode::kInvalidRequest,
                  "'status' must be queued, running, succeeded, failed, cancelled or expired.");
    }
  }
  if (const auto type = QueryText(text, "type")) {
    if (!IsValidTypeName(*type)) {
      return Fail(ErrorCode::kInvalidRequest, "'type' is not a job type name.");
    }
    query.type = *type;
  }
  auto cursor = QueryInt(text, "cursor");
  if (!cursor) return std::unexpected(cursor.error());
  if (*cursor) {
    if (**cursor >= static_cast<std::int64_t>(JobStore::kRecentJobs)) {
      return Fail(ErrorCode::kInvalidRequest,
                  fmt::format("'cursor' must be below {}: use the next_cursor a page gave.",
                              JobStore::kRecentJobs));
    }
    query.cursor = static_cast<std::size_t>(**cursor);
  }
  return query;
}

}  // namespace batchq
