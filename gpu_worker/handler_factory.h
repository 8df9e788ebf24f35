#pragma once
// Picks the backend (CUDA when a device is present and asked for, else CPU) and
// builds the handler for each job type the worker serves.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "gpu_worker/cpu_handlers.h"
#include "gpu_worker/handler.h"
#include "gpu_worker/mlp_model.h"

namespace batchq {

enum class Backend { kCpu, kCuda };
std::string_view ToString(Backend backend);

struct BackendChoice {
  Backend backend = Backend::kCpu;
  std::string device;              // device name, or "cpu"
  std::uint64_t memory_bytes = 0;  // the device's total memory; 0 on the CPU
};

// `requested` is auto|cuda|cpu. auto picks CUDA when this build has it and a device is
// present; cuda without a device is an error (no silent fallback when asked for).
Result<BackendChoice> ChooseBackend(std::string_view requested, int device);

// True when this build includes the CUDA handlers.
bool BuiltWithCuda();

struct MlpOptions {
  std::string weights_path;                          // safetensors; empty: seeded weights
  std::vector<int> widths = {256, 1024, 1024, 256};  // seeded model: input, hidden..., output
  std::uint64_t seed = 42;
  std::string activation = "relu";  // relu|gelu
  bool tf32 = false;                // CUDA only: TF32 tensor-core GEMMs
};

// The model `options` describe: read from the safetensors file, or seeded.
Result<std::shared_ptr<const MlpModel>> LoadMlpModel(const MlpOptions& options);

struct HandlerOptions {
  SleepCost sleep;
  int device = 0;
  MlpOptions mlp;
};

// unknown_type for a type with no built-in handler.
Result<std::unique_ptr<Handler>> MakeHandler(std::string_view type, Backend backend,
                                             const HandlerOptions& options);

}  // namespace batchq
