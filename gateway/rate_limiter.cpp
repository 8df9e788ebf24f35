#include "gateway/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace batchq {

std::optional<std::chrono::milliseconds> RateLimiter::Take(std::string_view key, double rate_per_s,
                                                           std::uint32_t burst,
                                                           Clock::time_point now) {
  if (rate_per_s <= 0) return std::nullopt;
  const double capacity = burst > 0 ? burst : std::max(1.0, rate_per_s);
  std::lock_guard lock(mutex_);
  auto [it, inserted] = buckets_.try_emplace(std::string(key), Bucket{capacity, now});
  Bucket& bucket = it->second;
  if (!inserted && now > bucket.updated) {
    const double elapsed_s = std::chrono::duration<double>(now - bucket.updated).count();
    bucket.tokens = std::min(capacity, bucket.tokens + elapsed_s * rate_per_s);
    bucket.updated = now;
  }
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return std::nullopt;
  }
  const double wait_ms = std::ceil((1 - bucket.tokens) / rate_per_s * 1000.0);
  return std::chrono::milliseconds(std::max<std::int64_t>(1, static_cast<std::int64_t>(wait_ms)));
}

}  // namespace batchq
