#include "common/wall_clock.h"

#include <algorithm>

#include <fmt/format.h>

namespace batchq {
namespace {

// Writes `value` as `width` decimal digits ending just before `end`.
void PutDigits(char* end, int width, std::int64_t value) {
  for (int i = 0; i < width; ++i) {
    *--end = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

}  // namespace

WallMicros NowWallMicros() {
  return std::chrono::duration_cast<WallMicros>(
      std::chrono::system_clock::now().time_since_epoch());
}

Rfc3339Text::Rfc3339Text(WallMicros since_epoch) {
  // Calendar arithmetic, not gmtime_r and fmt: every job answer writes up to four of
  // these, and gmtime_r takes glibc's time zone lock.
  using namespace std::chrono;
  const sys_time<microseconds> at{since_epoch};
  const auto day = floor<days>(at);
  const year_month_day date{day};
  const hh_mm_ss<microseconds> time{at - day};
  const int year = static_cast<int>(date.year());
  if (year < 0 || year > 9999) {
    const auto written =
        fmt::format_to_n(chars_.data(), chars_.size(), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
                         year, static_cast<unsigned>(date.month()),
                         static_cast<unsigned>(date.day()), time.hours().count(),
                         time.minutes().count(), time.seconds().count(), time.subseconds().count());
    size_ = std::min(written.size, chars_.size());
    return;
  }
  constexpr std::string_view kPattern = "0000-00-00T00:00:00.000000Z";
  std::copy(kPattern.begin(), kPattern.end(), chars_.begin());
  size_ = kPattern.size();
  char* const p = chars_.data();
  PutDigits(p + 4, 4, year);
  PutDigits(p + 7, 2, static_cast<unsigned>(date.month()));
  PutDigits(p + 10, 2, static_cast<unsigned>(date.day()));
  PutDigits(p + 13, 2, time.hours().count());
  PutDigits(p + 16, 2, time.minutes().count());
  PutDigits(p + 19, 2, time.seconds().count());
  PutDigits(p + 26, 6, time.subseconds().count());
}

std::string FormatRfc3339(WallMicros since_epoch) {
  return std::string(Rfc3339Text(since_epoch).view());
}

}  // namespace batchq
