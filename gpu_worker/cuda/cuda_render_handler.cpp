#include <vector>

#include "gpu_worker/cuda/cuda_handlers.h"
#include "gpu_worker/cuda/cuda_support.h"
#include "gpu_worker/cuda/kernels.h"
#include "gpu_worker/render_codec.h"

namespace batchq::cuda {
namespace {

// One launch slot: a stream of its own, events around its batch, reused buffers.
struct RenderSlot {
  cudaStream_t stream = nullptr;
  cudaEvent_t start = nullptr;
  cudaEvent_t stop = nullptr;
  std::vector<Result<RenderView>> views;  // per item: its view or its error
  std::vector<std::uint64_t> offsets;     // of each valid image's pixels
  PinnedBuffer<RenderView> host_views;
  PinnedBuffer<std::uint64_t> host_offsets;
  PinnedBuffer<std::uint8_t> host_pixels;
  DeviceBuffer<RenderView> device_views;
  DeviceBuffer<std::uint64_t> device_offsets;
  DeviceBuffer<std::uint8_t> device_pixels;
  bool launched = false;
  bool busy = false;
};

// Every image of the batch in one kernel launch; PNG encoding stays on the host, in
// Collect, where it overlaps the next batch's kernel (two launch slots).
class CudaRenderHandler final : public SlottedHandler<RenderSlot, 2> {
 public:
  Status Init(int device) { return InitSlots(device); }

  Result<int> Launch(std::span<const std::string_view> inputs) override {
    auto free = FreeSlot();
    if (!free) return std::unexpected(free.error());
    const int index = *free;
    auto& slot = slots_[index];
    BATCHQ_RETURN_IF_CUDA_ERR("cudaSetDevice", cudaSetDevice(device_));
    slot.views.clear();
    slot.offsets.clear();
    std::vector<RenderView> valid;
    std::uint64_t total = 0;
    std::int64_t max_pixels = 0;
    for (const auto input : inputs) {
      slot.views.push_back(ParseRenderParams(input));
      if (!slot.views.back()) continue;
      const RenderView& view = *slot.views.back();
      const std::int64_t pixels = static_cast<std::int64_t>(view.width) * view.height;
      valid.push_back(view);
      slot.offsets.push_back(total);
      total += static_cast<std::uint64_t>(pixels) * 3;
      max_pixels = std::max(max_pixels, pixels);
    }
    const int count = static_cast<int>(valid.size());
    if (count > 0) {
      if (auto s = slot.host_views.Reserve(count); !s) return std::unexpected(s.error());
      if (auto s = slot.host_offsets.Reserve(count); !s) return std::unexpected(s.error());
      if (auto s = slot.host_pixels.Reserve(total); !s) return std::unexpected(s.error());
      if (auto s = slot.device_views.Reserve(count); !s) return std::unexpected(s.error());
      if (auto s = slot.device_offsets.Reserve(count); !s) return std::unexpected(s.error());
      if (auto s = slot.device_pixels.Reserve(total); !s) return std::unexpected(s.error());
      std::copy(valid.begin(), valid.end(), slot.host_views.data());
      std::copy(slot.offsets.begin(), slot.offsets.end(), slot.host_offsets.data());
      const cudaStream_t stream = slot.stream;
      BATCHQ_RETURN_IF_CUDA_ERR("cudaEventRecord", cudaEventRecord(slot.start, stream));
      BATCHQ_RETURN_IF_CUDA_ERR(
          "cudaMemcpyAsync views",
          cudaMemcpyAsync(slot.device_views.data(), slot.host_views.data(),
                          sizeof(RenderView) * count, cudaMemcpyHostToDevice, stream));
      BATCHQ_RETURN_IF_CUDA_ERR(
          "cudaMemcpyAsync offsets",
          cudaMemcpyAsync(slot.device_offsets.data(), slot.host_offsets.data(),
                          sizeof(std::uint64_t) * count, cudaMemcpyHostToDevice, stream));
      BATCHQ_RETURN_IF_CUDA_ERR("render kernel",
                                LaunchRender(slot.device_views.data(), slot.device_offsets.data(),
                                             slot.device_pixels.data(), count, max_pixels, stream));
      BATCHQ_RETURN_IF_CUDA_ERR("cudaMemcpyAsync pixels",
                                cudaMemcpyAsync(slot.host_pixels.data(), slot.device_pixels.data(),
                                                total, cudaMemcpyDeviceToHost, stream));
      BATCHQ_RETURN_IF_CUDA_ERR("cudaEventRecord", cudaEventRecord(slot.stop, stream));
    }
    slot.launched = count > 0;
    slot.busy = true;
    return index;
  }

  Result<std::vector<ItemResult>> Collect(int ticket) override {
    auto taken = TakeInFlight(ticket);
    if (!taken) return std::unexpected(taken.error());
    auto& slot = **taken;
    if (slot.launched) {
      BATCHQ_RETURN_IF_CUDA_ERR("cudaStreamSynchronize", cudaStreamSynchronize(slot.stream));
      CountBusy(slot);
    }
    std::vector<ItemResult> results;
    results.reserve(slot.views.size());
    std::size_t k = 0;
    for (auto& view : slot.views) {
      if (!view) {
        results.push_back(std::unexpected(view.error()));
        continue;
      }
      const std::size_t bytes = static_cast<std::size_t>(view->width) * view->height * 3;
      results.push_back(EncodeRenderResult(
          *view,
          std::span<const std::uint8_t>(slot.host_pixels.data() + slot.offsets[k++], bytes)));
    }
    return results;
  }
};

}  // namespace

Result<std::unique_ptr<Handler>> MakeRenderHandler(int device) {
  auto handler = std::make_unique<CudaRenderHandler>();
  if (auto status = handler->Init(device); !status) return std::unexpected(status.error());
  return std::unique_ptr<Handler>(std::move(handler));
}

}  // namespace batchq::cuda
