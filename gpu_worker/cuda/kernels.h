#pragma once
// Plain launch functions for the kernels; kernels are launched only in the .cu files
// of this folder. Errors come back as cudaError_t, never as exits.

#include <cstddef>
#include <cstdint>

#include <cuda_runtime_api.h>

#include "gpu_worker/render_view.h"

namespace batchq::cuda {

// Upper-cases ASCII letters of `count` bytes in device memory, in place.
cudaError_t LaunchUpperAscii(char* device_bytes, std::size_t count, cudaStream_t stream);

// Keeps one thread busy on the device for `nanoseconds` (the `sleep` cost model).
cudaError_t LaunchSpin(std::int64_t nanoseconds, cudaStream_t stream);

// y[r][c] = act(y[r][c] + bias[c]) over a rows x cols row-major matrix; `activation`
// 0: none, 1: ReLU, 2: GELU (erf form, as the CPU twin).
cudaError_t LaunchBiasActivation(float* y, const float* bias, int rows, int cols, int activation,
                                 cudaStream_t stream);

// Renders `count` images in one launch: image i's RGB bytes start at offsets[i] in
// `pixels`; `max_pixels` is the largest width * height among them. All pointers are
// device memory.
cudaError_t LaunchRender(const RenderView* views, const std::uint64_t* offsets,
                         std::uint8_t* pixels, int count, std::int64_t max_pixels,
                         cudaStream_t stream);

}  // namespace batchq::cuda
