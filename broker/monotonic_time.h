#pragma once

#include <chrono>

namespace batchq {

// Deadlines and liveness in the broker use the steady clock, passed in as arguments.
using MonotonicTime = std::chrono::steady_clock::time_point;

}  // namespace batchq
