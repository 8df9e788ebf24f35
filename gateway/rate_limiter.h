#pragma once
// Token buckets, one per API key: `rate` tokens per second up to `burst`; a request
// takes one. Pure apart from a mutex: the time is an argument. Per gateway process
// (N gateways allow up to N times the rate; see docs/SECURITY.md). Thread-safe.

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace batchq {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // Takes one token from `key`'s bucket. nullopt: allowed. Otherwise how long until a
  // token is there (at least 1 ms). A rate of 0 means no limit. `burst` 0 means
  // max(1, rate).
  std::optional<std::chrono::milliseconds> Take(std::string_view key, double rate_per_s,
                                                std::uint32_t burst, Clock::time_point now);

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point updated{};
  };
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace batchq
