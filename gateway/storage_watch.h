#pragma once
// Whether Redis has room for new jobs. Redis with `maxmemory` and `noeviction` refuses
// every write once full, the writes that end jobs included; so the gateway stops taking
// new jobs a margin before that (503 storage_full, and /readyz says why) and jobs
// already accepted can still finish. A thread polls `INFO memory` ten times a second
// (a few microseconds of Redis each) once half of the mark is used, so that a burst of
// large submits overshoots the margin by little, and once a second below that: every
// gateway polls, and most of the time Redis is far from full.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "common/error.h"
#include "common/redis_connection.h"

namespace batchq {

struct RedisMemory {
  std::uint64_t used = 0;       // used_memory, bytes
  std::uint64_t maxmemory = 0;  // 0: no limit set
};

// The used_memory and maxmemory fields of an INFO reply ("field:value" lines).
// Error: invalid_request when either is missing or not a number.
Result<RedisMemory> ParseRedisMemory(std::string_view info);

// Why new jobs must wait, as a sentence, once `used` reaches `full_ratio` of
// maxmemory; nullopt while there is room or no maxmemory is set. Once full (`was_full`),
// it stays full until `used` falls kRoomMargin below the ratio, so that jobs ending
// and new ones arriving do not flip it back and forth.
inline constexpr double kRoomMargin = 0.05;
std::optional<std::string> StorageFullReason(const RedisMemory& memory, double full_ratio,
                                             bool was_full = false);

// How long until the next look at `memory` (nullopt: it could not be read): `slow`
// while less than half of full_ratio of maxmemory is used, or no maxmemory is set (a
// CONFIG SET may add one); `fast` from half the mark on, and while unread. Filling the
// other half within one `slow` would take gigabytes a second of new jobs on a Redis of
// a few gigabytes.
std::chrono::milliseconds StorageWatchInterval(const std::optional<RedisMemory>& memory,
                                               double full_ratio, std::chrono::milliseconds fast,
                                               std::chrono::milliseconds slow);

class StorageWatch {
 public:
  struct Options {
    RedisConnection::Options redis;
    double full_ratio = 0.9;
    std::chrono::milliseconds fast_interval{100};
    std::chrono::milliseconds slow_interval{1000};
  };

  // Starts the polling thread.
  explicit StorageWatch(Options options);
  ~StorageWatch();  // stops and joins
  StorageWatch(const StorageWatch&) = delete;
  StorageWatch& operator=(const StorageWatch&) = delete;

  // Why Redis cannot take new jobs now; nullopt when it can (or when its memory could
  // not be read: an unreachable Redis has answers of its own). Thread-safe.
  std::optional<std::string> FullReason() const;

 private:
  void Loop();

  const Options options_;
  mutable std::mutex mutex_;
  std::optional<std::string> full_reason_;
  std::condition_variable stopped_;  // with mutex_: ends the thread's wait to stop
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace batchq
