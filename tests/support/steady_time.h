#pragma once
// Times on the steady clock for the tests of code that takes the time as an argument.

#include <chrono>

namespace batchq {

// `since` after a fixed start an hour past the clock's epoch, so that the code under test
// may look back from its first time without leaving the clock's range.
inline std::chrono::steady_clock::time_point SteadyAt(std::chrono::milliseconds since) {
  return std::chrono::steady_clock::time_point{} + std::chrono::hours(1) + since;
}

}  // namespace batchq
