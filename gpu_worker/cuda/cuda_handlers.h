#pragma once
// CUDA implementations of the built-in job types. This header is free of CUDA
// headers so the rest of the worker can include it; it exists only in builds with
// nvcc (BATCHQ_HAVE_CUDA).

#include <cstddef>
#include <memory>
#include <string>

#include "common/error.h"
#include "gpu_worker/cpu_handlers.h"
#include "gpu_worker/handler.h"

namespace batchq::cuda {

struct DeviceInfo {
  int device_count = 0;  // 0 when no driver or no GPU
  std::string name;      // of the selected device
  std::size_t total_memory_bytes = 0;
};

// Never fails: a machine without a driver or GPU reports device_count 0.
DeviceInfo ProbeDevices(int device);

// Each handler owns a stream and reusable pinned/device buffers on `device`.
Result<std::unique_ptr<Handler>> MakeUpperHandler(int device);
Result<std::unique_ptr<Handler>> MakeSleepHandler(int device, SleepCost cost);

}  // namespace batchq::cuda
