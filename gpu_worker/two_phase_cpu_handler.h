#pragma once
// Gives CPU handlers the two-phase Launch/Collect form of Handler: each launch runs
// on a thread of its own with its own handler instance, so while one batch computes
// the worker's run stage can launch the next (two batches at once use two cores), and
// the executor's pipelined path serves CPU and CUDA workers alike.

#include <functional>
#include <memory>

#include "gpu_worker/handler.h"

namespace batchq {

// `make` builds one independent instance per launch slot (instances are not shared
// between threads). Launch/Collect/Run are called from one thread at a time.
std::unique_ptr<Handler> MakeTwoPhaseCpuHandler(std::function<std::unique_ptr<Handler>()> make,
                                                int slots = 2);

}  // namespace batchq
