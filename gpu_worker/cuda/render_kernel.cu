#include "gpu_worker/cuda/kernels.h"

namespace batchq::cuda {
namespace {

// blockIdx.y picks the image; x threads stride over its pixels.
__global__ void RenderKernel(const RenderView* views, const std::uint64_t* offsets,
                             std::uint8_t* pixels) {
  const RenderView view = views[blockIdx.y];
  const std::int64_t total = static_cast<std::int64_t>(view.width) * view.height;
  std::uint8_t* out = pixels + offsets[blockIdx.y];
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t p = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; p < total;
       p += stride) {
    const auto x = static_cast<std::int32_t>(p % view.width);
    const auto y = static_cast<std::int32_t>(p / view.width);
    ColourOf(view, EscapeCount(view, x, y), out + p * 3);
  }
}

}  // namespace

cudaError_t LaunchRender(const RenderView* views, const std::uint64_t* offsets,
                         std::uint8_t* pixels, int count, std::int64_t max_pixels,
                         cudaStream_t stream) {
  if (count == 0 || max_pixels == 0) return cudaSuccess;
  constexpr int kThreads = 256;
  const int blocks_x =
      static_cast<int>(std::min<std::int64_t>((max_pixels + kThreads - 1) / kThreads, 1024));
  RenderKernel<<<dim3(blocks_x, count), kThreads, 0, stream>>>(views, offsets, pixels);
  return cudaGetLastError();
}

}  // namespace batchq::cuda
