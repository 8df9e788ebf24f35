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
#include "gpu_worker/mlp_model.h"

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
// `mlp` through cuBLAS; tf32 lets the GEMMs use TF32 tensor cores (faster, ~1e-3 relative).
Result<std::unique_ptr<Handler>> MakeMlpHandler(int device, std::shared_ptr<const MlpModel> model,
                                                bool tf32);
Result<std::unique_ptr<Handler>> MakeRenderHandler(int device);

// Seconds per forward pass of `rows` rows through `model`'s GEMMs alone, on device data:
// the cuBLAS reference for the handler's achieved FLOP/s (benchmarks).
Result<double> TimeCublasForward(int device, const MlpModel& model, int rows, bool tf32,
                                 int repeats);

}  // namespace batchq::cuda
