#include "common/type_settings.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/job_limits.h"
#include "common/parse_number.h"

namespace batchq {
namespace {

Result<std::uint64_t> ParseUnsigned(std::string_view key, std::string_view text) {
  const auto value = ParseWholeNumber<std::uint64_t>(text);
  if (!value) {
    return Fail(ErrorCode::kInvalidSetting,
                fmt::format("'{}' needs a whole number, got '{}'.", key, text));
  }
  return *value;
}

// "8/16/32": the sizes, ascending.
Result<std::vector<std::uint32_t>> ParsePreferred(std::string_view sizes) {
  std::vector<std::uint32_t> out;
  while (!sizes.empty()) {
    const auto slash = sizes.find('/');
    auto size = ParseUnsigned("preferred", sizes.substr(0, slash));
    if (!size) return std::unexpected(size.error());
    if (*size == 0) return Fail(ErrorCode::kInvalidSetting, "preferred sizes must be at least 1.");
    out.push_back(static_cast<std::uint32_t>(*size));
    sizes = slash == std::string_view::npos ? std::string_view{} : sizes.substr(slash + 1);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

Result<TypeSettings> ParseTypeSettings(std::string_view spec, const TypeSettings& defaults) {
  TypeSettings settings = defaults;
  const auto colon = spec.find(':');
  settings.name = std::string(spec.substr(0, colon));
  if (settings.name.empty()) {
    return Fail(ErrorCode::kInvalidSetting,
                fmt::format("Type setting '{}' has no type name.", spec));
  }
  if (colon == std::string_view::npos) return settings;

  std::string_view rest = spec.substr(colon + 1);
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) {
      return Fail(ErrorCode::kInvalidSetting, fmt::format("'{}' is not key=value.", item));
    }
    const std::string_view key = item.substr(0, eq);
    if (key == "preferred") {
      auto sizes = ParsePreferred(item.substr(eq + 1));
      if (!sizes) return std::unexpected(sizes.error());
      settings.preferred_batch_sizes = std::move(*sizes);
      continue;
    }
    auto value = ParseUnsigned(key, item.substr(eq + 1));
    if (!value) return std::unexpected(value.error());
    // Durations are bounded so that arithmetic on them cannot overflow.
    const bool is_duration = key.ends_with("_ms") || key.ends_with("_us");
    const auto bound = std::chrono::duration_cast<std::chrono::microseconds>(kMaxTypeDuration);
    if (is_duration && *value > static_cast<std::uint64_t>(
                                    key.ends_with("_ms") ? bound.count() / 1000 : bound.count())) {
      return Fail(ErrorCode::kInvalidSetting, fmt::format("{} is longer than a day.", key));
    }
    if (key == "max_batch_size") {
      if (*value == 0)
        return Fail(ErrorCode::kInvalidSetting, "max_batch_size must be at least 1.");
      settings.max_batch_size = static_cast<std::uint32_t>(*value);
    } else if (key == "max_delay_ms") {
      settings.max_delay = std::chrono::milliseconds(*value);
    } else if (key == "max_delay_us") {
      settings.max_delay = std::chrono::microseconds(*value);
    } else if (key == "max_queue") {
      settings.max_queue = static_cast<std::uint32_t>(*value);
    } else if (key == "max_queue_wait_ms") {
      settings.max_queue_wait = std::chrono::milliseconds(*value);
    } else if (key == "max_batch_bytes") {
      settings.max_batch_bytes = static_cast<std::size_t>(*value);
    } else if (key == "timeout_ms") {
      settings.default_timeout = std::chrono::milliseconds(*value);
    } else if (key == "max_run_ms") {
      settings.max_run = std::chrono::milliseconds(*value);
    } else if (key == "max_retries") {
      if (*value > kMaxRetries) {
        return Fail(ErrorCode::kInvalidSetting,
                    fmt::format("max_retries must be at most {}.", kMaxRetries));
      }
      settings.max_retries = static_cast<std::uint32_t>(*value);
    } else if (key == "retry_backoff_ms") {
      if (*value == 0 || *value > static_cast<std::uint64_t>(kMaxRetryBackoffMs)) {
        return Fail(ErrorCode::kInvalidSetting,
                    fmt::format("retry_backoff_ms must be from 1 to {}.", kMaxRetryBackoffMs));
      }
      settings.retry_backoff = std::chrono::milliseconds(*value);
    } else if (key == "adaptive") {
      if (*value > 1) return Fail(ErrorCode::kInvalidSetting, "adaptive must be 0 or 1.");
      settings.adaptive = *value == 1;
    } else {
      return Fail(ErrorCode::kInvalidSetting, fmt::format("Unknown type setting '{}'.", key));
    }
  }
  return settings;
}

}  // namespace batchq
