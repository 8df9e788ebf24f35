#pragma once
// Wall-clock timestamps for job records only. Deadlines and liveness use
// std::chrono::steady_clock and are passed in as arguments, never read here.

#include <chrono>
#include <cstdint>
#include <string>

namespace batchq {

using WallMicros = std::chrono::microseconds;  // since the Unix epoch

WallMicros NowWallMicros();

// "2026-11-21T23:40:01.123456Z"
std::string FormatRfc3339(WallMicros since_epoch);

}  // namespace batchq
