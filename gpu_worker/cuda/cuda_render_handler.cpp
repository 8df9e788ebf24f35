#include <vector>

#include "gpu_worker/cuda/cuda_handlers.h"
#include "gpu_worker/cuda/cuda_support.h"
#include "gpu_worker/cuda/kernels.h"
#include "gpu_worker/render_codec.h"

namespace batchq::cuda {
namespace {

// Every image of the batch in one kernel launch; PNG encoding stays on the host.
class CudaRenderHandler final : public Handler {
 public:
  ~CudaRenderHandler() override {
    if (start_ != nullptr) cudaEventDestroy(start_);
    if (stop_ != nullptr) cudaEventDestroy(stop_);
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
  }

  Status Init(int device) {
    device_ = device;
    BATCHQ_RETURN_IF_CUDA_ERR("cudaSetDevice", cudaSetDevice(device));
    BATCHQ_RETURN_IF_CUDA_ERR("cudaStreamCreate",
                              cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    BATCHQ_RETURN_IF_CUDA_ERR("cudaEventCreate", cudaEventCreate(&start_));
    BATCHQ_RETURN_IF_CUDA_ERR("cudaEventCreate", cudaEventCreate(&stop_));
    return Ok();
  }

  Result<std::vector<ItemResult>> Run(std::span<const std::string_view> inputs) override {
    BATCHQ_RETURN_IF_CUDA_ERR("cudaSetDevice", cudaSetDevice(device_));
    std::vector<Result<RenderView>> views;
    views.reserve(inputs.size());
    std::vector<std::uint64_t> offsets;  // of each valid image, in launch order
    std::vector<RenderView> valid;
    std::uint64_t total = 0;
    std::int64_t max_pixels = 0;
    for (const auto input : inputs) {
      views.push_back(ParseRenderParams(input));
      if (!views.back()) continue;
      const std::int64_t pixels =
          static_cast<std::int64_t>(views.back()->width) * views.back()->height;
      valid.push_back(*views.back());
      offsets.push_back(total);
      total += static_cast<std::uint64_t>(pixels) * 3;
      max_pixels = std::max(max_pixels, pixels);
    }
    const int count = static_cast<int>(valid.size());
    if (count > 0) {
      if (auto s = host_views_.Reserve(count); !s) return std::unexpected(s.error());
      if (auto s = host_offsets_.Reserve(count); !s) return std::unexpected(s.error());
      if (auto s = host_pixels_.Reserve(total); !s) return std::unexpected(s.error());
      if (auto s = device_views_.Reserve(count); !s) return std::unexpected(s.error());
      if (auto s = device_offsets_.Reserve(count); !s) return std::unexpected(s.error());
      if (auto s = device_pixels_.Reserve(total); !s) return std::unexpected(s.error());
      std::copy(valid.begin(), valid.end(), host_views_.data());
      std::copy(offsets.begin(), offsets.end(), host_offsets_.data());
      BATCHQ_RETURN_IF_CUDA_ERR("cudaEventRecord", cudaEventRecord(start_, stream_));
      BATCHQ_RETURN_IF_CUDA_ERR(
          "cudaMemcpyAsync views",
          cudaMemcpyAsync(device_views_.data(), host_views_.data(), sizeof(RenderView) * count,
                          cudaMemcpyHostToDevice, stream_));
      BATCHQ_RETURN_IF_CUDA_ERR(
          "cudaMemcpyAsync offsets",
          cudaMemcpyAsync(device_offsets_.data(), host_offsets_.data(),
                          sizeof(std::uint64_t) * count, cudaMemcpyHostToDevice, stream_));
      BATCHQ_RETURN_IF_CUDA_ERR("render kernel",
                                LaunchRender(device_views_.data(), device_offsets_.data(),
                                             device_pixels_.data(), count, max_pixels, stream_));
      BATCHQ_RETURN_IF_CUDA_ERR("cudaMemcpyAsync pixels",
                                cudaMemcpyAsync(host_pixels_.data(), device_pixels_.data(), total,
                                                cudaMemcpyDeviceToHost, stream_));
      BATCHQ_RETURN_IF_CUDA_ERR("cudaEventRecord", cudaEventRecord(stop_, stream_));
      BATCHQ_RETURN_IF_CUDA_ERR("cudaStreamSynchronize", cudaStreamSynchronize(stream_));
      float ms = 0;
      if (cudaEventElapsedTime(&ms, start_, stop_) == cudaSuccess) {
        device_time_ += std::chrono::microseconds(static_cast<std::int64_t>(ms * 1000.0f));
      }
    }
    std::vector<ItemResult> results;
    results.reserve(inputs.size());
    std::size_t k = 0;
    for (auto& view : views) {
      if (!view) {
        results.push_back(std::unexpected(view.error()));
        continue;
      }
      const std::size_t bytes = static_cast<std::size_t>(view->width) * view->height * 3;
      results.push_back(EncodeRenderResult(
          *view, std::span<const std::uint8_t>(host_pixels_.data() + offsets[k++], bytes)));
    }
    return results;
  }

  std::chrono::microseconds device_time() const override { return device_time_; }

 private:
  int device_ = 0;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t start_ = nullptr;
  cudaEvent_t stop_ = nullptr;
  PinnedBuffer<RenderView> host_views_;
  PinnedBuffer<std::uint64_t> host_offsets_;
  PinnedBuffer<std::uint8_t> host_pixels_;
  DeviceBuffer<RenderView> device_views_;
  DeviceBuffer<std::uint64_t> device_offsets_;
  DeviceBuffer<std::uint8_t> device_pixels_;
  std::chrono::microseconds device_time_{0};
};

}  // namespace

Result<std::unique_ptr<Handler>> MakeRenderHandler(int device) {
  auto handler = std::make_unique<CudaRenderHandler>();
  if (auto status = handler->Init(device); !status) return std::unexpected(status.error());
  return std::unique_ptr<Handler>(std::move(handler));
}

}  // namespace batchq::cuda
