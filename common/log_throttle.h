#pragma once
// At most one log line per key (a peer) per interval, counting the lines held back, so
// that a peer sending garbage in a loop cannot flood the log or slow the process that
// writes it. Pure: time is an argument. Not thread-safe: one per thread that logs.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace batchq {

class LogThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  // Keys beyond `max_keys` share one line budget, so that many peers cannot make the
  // table grow without bound either.
  explicit LogThrottle(std::chrono::milliseconds interval, std::size_t max_keys = 1024);

  // Whether a line about `key` may be written at `now`. When it may, the value is how
  // many lines about it were held back since its last one (0: none).
  std::optional<std::uint64_t> Admit(std::string_view key, Clock::time_point now);

 private:
  struct Entry {
    Clock::time_point next_line{};
    std::uint64_t held_back = 0;
  };

  const std::chrono::milliseconds interval_;
  const std::size_t max_keys_;
  std::unordered_map<std::string, Entry> entries_;
  Entry overflow_;  // for keys past max_keys_
};

// " (N more since the last line)" for N > 0, else empty: the tail of a throttled line.
std::string HeldBackNote(std::uint64_t held_back);

}  // namespace batchq
