#pragma once
// The bounds of a job's fields, checked by the gateway on the way in and again by the
// broker, which treats what a gateway sends as possibly wrong.

#include <chrono>
#include <cstdint>
#include <string_view>

namespace batchq {

inline constexpr std::int32_t kMinPriority = -1000;
inline constexpr std::int32_t kMaxPriority = 1000;
inline constexpr std::int64_t kMaxTimeoutMs = 24 * 3600 * 1000;
// Retries of a job after retryable failures, and the backoff before the first: bounded so
// that a job that keeps failing ends in bounded time (each retry then waits at most
// kMaxQueueLifetime, counted from its retry_at).
inline constexpr std::uint32_t kMaxRetries = 20;
inline constexpr std::int64_t kMaxRetryBackoffMs = 3600 * 1000;
// A queued job's longest wait (the broker's --queue-lifetime-s at most) and the longest
// any configured duration of a type may be (max_delay, timeout, max_run). A running
// broker ends a job within their sum; its record then expires after the result TTL, and
// an unfinished record's stored bytes are counted until then (job_store.h).
inline constexpr std::chrono::hours kMaxQueueLifetime{24};
inline constexpr std::chrono::hours kMaxTypeDuration{24};
// A tenant's fair-share weight, as an API key may set it.
inline constexpr std::uint32_t kMaxTenantWeight = 1000;

// A job type's name: 1 to 64 of ASCII letters, digits, '_', '-' and '.'.
constexpr bool IsValidTypeName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace batchq
