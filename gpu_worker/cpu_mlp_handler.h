#pragma once
// The `mlp` job on the CPU: the whole batch as one matrix through BLAS (OpenBLAS),
// layer by layer. The reference the CUDA handler is compared with.

#include <memory>
#include <span>
#include <vector>

#include "gpu_worker/handler.h"
#include "gpu_worker/mlp_model.h"

namespace batchq {

// `input` is rows x model.input_width(), row-major; returns rows x output_width().
std::vector<float> CpuMlpForward(const MlpModel& model, std::span<const float> input,
                                 std::size_t rows);

std::unique_ptr<Handler> MakeCpuMlpHandler(std::shared_ptr<const MlpModel> model);

}  // namespace batchq
