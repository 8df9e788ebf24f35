#include "common/wall_clock.h"

#include <ctime>

#include <fmt/format.h>

namespace batchq {

WallMicros NowWallMicros() {
  return std::chrono::duration_cast<WallMicros>(
      std::chrono::system_clock::now().time_since_epoch());
}

std::string FormatRfc3339(WallMicros since_epoch) {
  const auto total = since_epoch.count();
  std::time_t seconds = static_cast<std::time_t>(total / 1'000'000);
  const auto micros = total % 1'000'000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", utc.tm_year + 1900,
                     utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, micros);
}

}  // namespace batchq
