#pragma once
// The CPU implementations of the built-in job types: the reference answers the
// CUDA handlers must match, and the fallback where no GPU is present.

#include <chrono>
#include <memory>

#include "gpu_worker/handler.h"

namespace batchq {

// Cost model of the `sleep` type: a batch of n takes fixed + per_item * n.
struct SleepCost {
  std::chrono::microseconds fixed{2000};
  std::chrono::microseconds per_item{50};

  std::chrono::microseconds For(std::size_t items) const {
    return fixed + per_item * static_cast<std::int64_t>(items);
  }
};

std::unique_ptr<Handler> MakeCpuUpperHandler();
std::unique_ptr<Handler> MakeCpuSleepHandler(SleepCost cost);

}  // namespace batchq
