#include "gpu_worker/cuda/kernels.h"

namespace batchq::cuda {
namespace {

__global__ void BiasActivationKernel(float* y, const float* bias, int rows, int cols,
                                     int activation) {
  const std::int64_t total = static_cast<std::int64_t>(rows) * cols;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += stride) {
    float v = y[i] + bias[i % cols];
    if (activation == 1) {
      v = v > 0.0f ? v : 0.0f;
    } else if (activation == 2) {
      v = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    }
    y[i] = v;
  }
}

}  // namespace

cudaError_t LaunchBiasActivation(float* y, const float* bias, int rows, int cols, int activation,
                                 cudaStream_t stream) {
  const std::int64_t total = static_cast<std::int64_t>(rows) * cols;
  if (total == 0) return cudaSuccess;
  constexpr int kThreads = 256;
  const int blocks =
      static_cast<int>(std::min<std::int64_t>((total + kThreads - 1) / kThreads, 65535));
  BiasActivationKernel<<<blocks, kThreads, 0, stream>>>(y, bias, rows, cols, activation);
  return cudaGetLastError();
}

}  // namespace batchq::cuda
