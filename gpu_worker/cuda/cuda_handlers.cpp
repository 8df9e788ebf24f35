#include "gpu_worker/cuda/cuda_handlers.h"

#include <cuda_runtime_api.h>
#include <fmt/format.h>

#include "gpu_worker/cuda/cuda_support.h"
#include "gpu_worker/cuda/kernels.h"
#include "gpu_worker/upper_codec.h"

namespace batchq::cuda {
namespace {

// A device stream plus pinned host and device buffers that grow and are reused.
class DeviceStaging {
 public:
  ~DeviceStaging() {
    if (host_ != nullptr) cudaFreeHost(host_);
    if (device_ != nullptr) cudaFree(device_);
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
  }

  Status Init(int device) {
    device_index_ = device;
    BATCHQ_RETURN_IF_CUDA_ERR("cudaSetDevice", cudaSetDevice(device));
    BATCHQ_RETURN_IF_CUDA_ERR("cudaStreamCreate",
                              cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    return Ok();
  }

  Status Reserve(std::size_t bytes) {
    if (bytes <= capacity_) return Ok();
    std::size_t grown = std::max<std::size_t>(bytes, capacity_ * 2);
    grown = std::max<std::size_t>(grown, 4096);
    if (host_ != nullptr) cudaFreeHost(host_);
    if (device_ != nullptr) cudaFree(device_);
    host_ = nullptr;
    device_ = nullptr;
    capacity_ = 0;
    BATCHQ_RETURN_IF_CUDA_ERR("cudaMallocHost", cudaMallocHost(&host_, grown));
    BATCHQ_RETURN_IF_CUDA_ERR("cudaMalloc", cudaMalloc(&device_, grown));
    capacity_ = grown;
    return Ok();
  }

  char* host() { return static_cast<char*>(host_); }
  char* device() { return static_cast<char*>(device_); }
  cudaStream_t stream() const { return stream_; }
  int device_index() const { return device_index_; }

 private:
  int device_index_ = 0;
  cudaStream_t stream_ = nullptr;
  void* host_ = nullptr;
  void* device_ = nullptr;
  std::size_t capacity_ = 0;
};

class CudaUpperHandler final : public Handler {
 public:
  Status Init(int device) { return staging_.Init(device); }

  Result<std::vector<ItemResult>> Run(std::span<const std::string_view> inputs) override {
    BATCHQ_RETURN_IF_CUDA_ERR("cudaSetDevice", cudaSetDevice(staging_.device_index()));
    // Decode every item, then pack the valid ones into one buffer: one copy in, one
    // kernel, one copy out for the whole batch.
    std::vector<ItemResult> results;
    results.reserve(inputs.size());
    std::vector<std::string> texts(inputs.size());
    std::size_t total = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      auto text = DecodeUpperInput(inputs[i]);
      if (!text) {
        results.push_back(std::unexpected(text.error()));
        continue;
      }
      texts[i] = std::move(*text);
      total += texts[i].size();
      results.push_back(std::string());
    }
    if (auto reserved = staging_.Reserve(total); !reserved)
      return std::unexpected(reserved.error());
    std::size_t offset = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (!results[i]) continue;
      std::copy(texts[i].begin(), texts[i].end(), staging_.host() + offset);
      offset += texts[i].size();
    }
    if (total > 0) {
      const cudaStream_t stream = staging_.stream();
      BATCHQ_RETURN_IF_CUDA_ERR("cudaMemcpyAsync H2D",
                                cudaMemcpyAsync(staging_.device(), staging_.host(), total,
                                                cudaMemcpyHostToDevice, stream));
      BATCHQ_RETURN_IF_CUDA_ERR("UpperAscii kernel",
                                LaunchUpperAscii(staging_.device(), total, stream));
      BATCHQ_RETURN_IF_CUDA_ERR("cudaMemcpyAsync D2H",
                                cudaMemcpyAsync(staging_.host(), staging_.device(), total,
                                                cudaMemcpyDeviceToHost, stream));
      BATCHQ_RETURN_IF_CUDA_ERR("cudaStreamSynchronize", cudaStreamSynchronize(stream));
    }
    offset = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (!results[i]) continue;
      results[i] = EncodeUpperResult(std::string_view(staging_.host() + offset, texts[i].size()));
      offset += texts[i].size();
    }
    return results;
  }

 private:
  DeviceStaging staging_;
};

class CudaSleepHandler final : public Handler {
 public:
  explicit CudaSleepHandler(SleepCost cost) : cost_(cost) {}
  Status Init(int device) { return staging_.Init(device); }

  Result<std::vector<ItemResult>> Run(std::span<const std::string_view> inputs) override {
    BATCHQ_RETURN_IF_CUDA_ERR("cudaSetDevice", cudaSetDevice(staging_.device_index()));
    const auto nanos =
        std::chrono::duration_cast<std::chrono::nanoseconds>(cost_.For(inputs.size()));
    BATCHQ_RETURN_IF_CUDA_ERR("Spin kernel", LaunchSpin(nanos.count(), staging_.stream()));
    BATCHQ_RETURN_IF_CUDA_ERR("cudaStreamSynchronize", cudaStreamSynchronize(staging_.stream()));
    return std::vector<ItemResult>(inputs.size(), ItemResult(R"({"ok":true})"));
  }

 private:
  const SleepCost cost_;
  DeviceStaging staging_;
};

template <class H, class... Args>
Result<std::unique_ptr<Handler>> Make(int device, Args&&... args) {
  auto handler = std::make_unique<H>(std::forward<Args>(args)...);
  if (auto status = handler->Init(device); !status) return std::unexpected(status.error());
  return std::unique_ptr<Handler>(std::move(handler));
}

}  // namespace

DeviceInfo ProbeDevices(int device) {
  DeviceInfo info;
  if (cudaGetDeviceCount(&info.device_count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error
    info.device_count = 0;
    return info;
  }
  cudaDeviceProp props{};
  if (device < info.device_count && cudaGetDeviceProperties(&props, device) == cudaSuccess) {
    info.name = props.name;
    info.total_memory_bytes = props.totalGlobalMem;
  }
  return info;
}

Result<std::unique_ptr<Handler>> MakeUpperHandler(int device) {
  return Make<CudaUpperHandler>(device);
}

Result<std::unique_ptr<Handler>> MakeSleepHandler(int device, SleepCost cost) {
  return Make<CudaSleepHandler>(device, cost);
}

}  // namespace batchq::cuda
