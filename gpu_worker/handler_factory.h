#pragma once
// Picks the backend (CUDA when a device is present and asked for, else CPU) and
// builds the handler for each job type the worker serves.

#include <memory>
#include <string>
#include <string_view>

#include "common/error.h"
#include "gpu_worker/cpu_handlers.h"
#include "gpu_worker/handler.h"

namespace batchq {

enum class Backend { kCpu, kCuda };
std::string_view ToString(Backend backend);

struct BackendChoice {
  Backend backend = Backend::kCpu;
  std::string device;  // device name, or "cpu"
};

// `requested` is auto|cuda|cpu. auto picks CUDA when this build has it and a device is
// present; cuda without a device is an error (no silent fallback when asked for).
Result<BackendChoice> ChooseBackend(std::string_view requested, int device);

// True when this build includes the CUDA handlers.
bool BuiltWithCuda();

struct HandlerOptions {
  SleepCost sleep;
  int device = 0;
};

// unknown_type for a type with no built-in handler.
Result<std::unique_ptr<Handler>> MakeHandler(std::string_view type, Backend backend,
                                             const HandlerOptions& options);

}  // namespace batchq
