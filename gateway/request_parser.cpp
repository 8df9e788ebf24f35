#include "gateway/request_parser.h"

#include <algorithm>

#include <fmt/format.h>
#include <simdjson.h>

#include "common/web_url.h"

namespace batchq {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

Result<std::int64_t> BoundedInteger(element value, std::string_view name, std::int64_t min,
                                    std::int64_t max) {
  std::int64_t number = 0;
  if (value.get(number) != simdjson::SUCCESS || number < min || number > max) {
    return Fail(ErrorCode::kInvalidRequest,
                fmt::format("\"{}\" must be an integer from {} to {}.", name, min, max));
  }
  return number;
}

Result<JobRequest> ParseJobObject(element value) {
  simdjson::dom::object object;
  if (value.get(object) != simdjson::SUCCESS) {
    return Fail(ErrorCode::kInvalidRequest,
                "A job must be a JSON object with \"type\" and \"input\".");
  }
  JobRequest request;
  bool has_type = false;
  bool has_input = false;
  for (auto field : object) {
    const std::string_view key = field.key;
    if (key == "type") {
      std::string_view type;
      if (field.value.get(type) != simdjson::SUCCESS) {
        return Fail(ErrorCode::kInvalidRequest, "\"type\" must be a string.");
      }
      if (!IsValidTypeName(type)) {
        return Fail(ErrorCode::kInvalidRequest,
                    "\"type\" must be 1-64 characters of letters, digits, '_', '-' or '.'.");
      }
      request.type = std::string(type);
      has_type = true;
    } else if (key == "input") {
      request.input = simdjson::minify(field.value);
      has_input = true;
    } else if (key == "priority") {
      auto priority = BoundedInteger(field.value, key, kMinPriority, kMaxPriority);
      if (!priority) return std::unexpected(priority.error());
      request.priority = static_cast<std::int32_t>(*priority);
    } else if (key == "timeout_ms") {
      auto timeout = BoundedInteger(field.value, key, 1, kMaxTimeoutMs);
      if (!timeout) return std::unexpected(timeout.error());
      request.timeout_ms = *timeout;
    } else if (key == "max_retries") {
      auto retries = BoundedInteger(field.value, key, 0, kMaxRetries);
      if (!retries) return std::unexpected(retries.error());
      request.max_retries = static_cast<std::int32_t>(*retries);
    } else if (key == "callback_url") {
      std::string_view url;
      if (field.value.get(url) != simdjson::SUCCESS) {
        return Fail(ErrorCode::kInvalidRequest, "\"callback_url\" must be a string.");
      }
      if (auto parsed = ParseWebUrl(url); !parsed) {
        return Fail(ErrorCode::kInvalidRequest,
                    fmt::format("\"callback_url\": {}", parsed.error().message));
      }
      request.callback_url = std::string(url);
    } else if (key == "retry_backoff_ms") {
      auto backoff = BoundedInteger(field.value, key, 1, kMaxRetryBackoffMs);
      if (!backoff) return std::unexpected(backoff.error());
      request.retry_backoff_ms = *backoff;
    }
    // Unknown fields are ignored so that newer clients work with older gateways.
  }
  if (!has_type) return Fail(ErrorCode::kInvalidRequest, "The job has no \"type\".");
  if (!has_input) return Fail(ErrorCode::kInvalidRequest, "The job has no \"input\".");
  return request;
}

Result<element> ParseDocument(simdjson::dom::parser& parser, std::string_view body) {
  element root;
  const auto error = parser.parse(body.data(), body.size(), /*realloc_if_needed=*/true).get(root);
  if (error != simdjson::SUCCESS) {
    return Fail(ErrorCode::kInvalidJson,
                fmt::format("The body is not valid JSON: {}.", simdjson::error_message(error)));
  }
  return root;
}

simdjson::dom::parser& ThreadParser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

}  // namespace

bool IsJsonContentType(std::string_view content_type) {
  constexpr std::string_view kJson = "application/json";
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  return media.size() == kJson.size() &&
         std::equal(media.begin(), media.end(), kJson.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

Result<JobRequest> ParseJobRequest(std::string_view body) {
  auto root = ParseDocument(ThreadParser(), body);
  if (!root) return std::unexpected(root.error());
  return ParseJobObject(*root);
}

Result<std::vector<Result<JobRequest>>> ParseBatchRequest(std::string_view body,
                                                          std::size_t max_jobs) {
  auto root = ParseDocument(ThreadParser(), body);
  if (!root) return std::unexpected(root.error());
  simdjson::dom::array jobs;
  if ((*root)["jobs"].get(jobs) != simdjson::SUCCESS) {
    return Fail(ErrorCode::kInvalidRequest, "The body must be an object with a \"jobs\" array.");
  }
  if (jobs.size() == 0) return Fail(ErrorCode::kInvalidRequest, "\"jobs\" is empty.");
  if (jobs.size() > max_jobs) {
    return Fail(ErrorCode::kInvalidRequest,
                fmt::format("\"jobs\" holds {} items; the limit is {}.", jobs.size(), max_jobs));
  }
  std::vector<Result<JobRequest>> out;
  out.reserve(jobs.size());
  for (element item : jobs) out.push_back(ParseJobObject(item));
  return out;
}

}  // namespace batchq
