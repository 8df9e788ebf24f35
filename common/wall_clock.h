#pragma once
// Wall-clock timestamps for job records only. Deadlines and liveness use
// std::chrono::steady_clock and are passed in as arguments, never read here.

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace batchq {

using WallMicros = std::chrono::microseconds;  // since the Unix epoch

WallMicros NowWallMicros();

// An RFC 3339 UTC time, "2026-11-21T23:40:01.123456Z", held in the object: a job's
// answer writes up to four, and a std::string of one is past the short-string size.
class Rfc3339Text {
 public:
  explicit Rfc3339Text(WallMicros since_epoch);
  std::string_view view() const { return {chars_.data(), size_}; }

 private:
  // The longest is a year of -32767: 29 characters.
  std::array<char, 32> chars_;
  std::size_t size_ = 0;
};

// The same text as a string.
std::string FormatRfc3339(WallMicros since_epoch);

}  // namespace batchq
