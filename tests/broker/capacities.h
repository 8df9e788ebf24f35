// The worker capacities the batch policy's tests offer it, named once for every test file.
#pragma once

#include "broker/batch_policy.h"

namespace batchq::test_capacities {

inline constexpr Capacity kIdle{true, true, 1};       // a worker with nothing in flight
inline constexpr Capacity kBusyFree{true, false, 1};  // a free credit, but every worker is busy
inline constexpr Capacity kNoCredit{false, false, 1};

}  // namespace batchq::test_capacities
