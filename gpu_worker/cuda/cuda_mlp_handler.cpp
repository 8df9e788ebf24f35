#include <memory>
#include <vector>

#include "gpu_worker/cuda/cublas_library.h"
#include "gpu_worker/cuda/cuda_handlers.h"
#include "gpu_worker/cuda/cuda_support.h"
#include "gpu_worker/cuda/kernels.h"
#include "gpu_worker/mlp_rows.h"

namespace batchq::cuda {
namespace {

Error CublasFailure(const CublasLibrary& blas, std::string_view what, cublasStatus_t status) {
  const bool oom = status == CUBLAS_STATUS_ALLOC_FAILED;
  return Error{oom ? kOutOfMemory : ErrorCode::kCudaError,
               fmt::format("{} failed: {}.", what, blas.status_string(status))};
}

// Calls blas_lib_->function(args...) and returns its failure as an error value.
#define BATCHQ_RETURN_IF_CUBLAS_ERR(what, function, ...)                        \
  do {                                                                          \
    const cublasStatus_t batchq_status = blas_lib_->function(__VA_ARGS__);      \
    if (batchq_status != CUBLAS_STATUS_SUCCESS) {                               \
      return std::unexpected(CublasFailure(*blas_lib_, (what), batchq_status)); \
    }                                                                           \
  } while (0)

// One launch slot: a stream of its own, events around its batch, reused buffers.
struct MlpSlot {
  cudaStream_t stream = nullptr;
  cudaEvent_t start = nullptr;
  cudaEvent_t stop = nullptr;
  PinnedBuffer<float> host_in;
  PinnedBuffer<float> host_out;
  DeviceBuffer<float> act_a;
  DeviceBuffer<float> act_b;
  PackedRows packed;
  bool busy = false;
};

// The whole batch as one matrix: one copy in, per layer one GEMM (cuBLAS) and one
// bias+activation kernel, one copy out. Two launch slots, so one batch can be packed or
// unpacked on the host while the other runs on the device.
class CudaMlpHandler final : public SlottedHandler<MlpSlot, 2> {
 public:
  CudaMlpHandler(std::shared_ptr<const MlpModel> model, bool tf32)
      : model_(std::move(model)), tf32_(tf32) {}

  ~CudaMlpHandler() override {
    if (blas_ != nullptr) blas_lib_->destroy(blas_);
  }

  Status Init(int device) {
    if (auto slots = InitSlots(device); !slots) return slots;
    auto blas = OpenCublas();
    if (!blas) return std::unexpected(blas.error());
    blas_lib_ = *blas;
    BATCHQ_RETURN_IF_CUBLAS_ERR("cublasCreate", create, &blas_);
    BATCHQ_RETURN_IF_CUBLAS_ERR("cublasSetMathMode", set_math_mode, blas_,
                                tf32_ ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH);
    // Weights go to the device once, at start.
    weights_.resize(model_->layers.size());
    biases_.resize(model_->layers.size());
    for (std::size_t l = 0; l < model_->layers.size(); ++l) {
      const DenseLayer& layer = model_->layers[l];
      widest_ = std::max({widest_, layer.in, layer.out});
      if (auto s = weights_[l].Reserve(layer.weight.size()); !s) return s;
      if (auto s = biases_[l].Reserve(layer.bias.size()); !s) return s;
      BATCHQ_RETURN_IF_CUDA_ERR(
          "cudaMemcpy weights",
          cudaMemcpy(weights_[l].data(), layer.weight.data(), layer.weight.size() * sizeof(float),
                     cudaMemcpyHostToDevice));
      BATCHQ_RETURN_IF_CUDA_ERR(
          "cudaMemcpy bias", cudaMemcpy(biases_[l].data(), layer.bias.data(),
                                        layer.bias.size() * sizeof(float), cudaMemcpyHostToDevice));
    }
    BATCHQ_RETURN_IF_CUDA_ERR("cudaDeviceSynchronize", cudaDeviceSynchronize());
    return Ok();
  }

  Result<int> Launch(std::span<const std::string_view> inputs) override {
    auto free = FreeSlot();
    if (!free) return std::unexpected(free.error());
    const int index = *free;
    auto& slot = slots_[index];
    BATCHQ_RETURN_IF_CUDA_ERR("cudaSetDevice", cudaSetDevice(device_));
    const int in_width = model_->input_width();
    const std::size_t n = inputs.size();
    if (auto s = slot.host_in.Reserve(n * in_width); !s) return std::unexpected(s.error());
    if (auto s = slot.host_out.Reserve(n * model_->output_width()); !s) {
      return std::unexpected(s.error());
    }
    if (auto s = slot.act_a.Reserve(n * widest_); !s) return std::unexpected(s.error());
    if (auto s = slot.act_b.Reserve(n * widest_); !s) return std::unexpected(s.error());

    slot.packed = PackRows(inputs, in_width, slot.host_in.data());
    const int rows = static_cast<int>(slot.packed.rows);
    if (rows > 0) {
      if (auto status = Enqueue(slot, rows); !status) return std::unexpected(status.error());
    }
    slot.busy = true;
    return index;
  }

  Result<std::vector<ItemResult>> Collect(int ticket) override {
    auto taken = TakeInFlight(ticket);
    if (!taken) return std::unexpected(taken.error());
    auto& slot = **taken;
    if (slot.packed.rows > 0) {
      BATCHQ_RETURN_IF_CUDA_ERR("cudaStreamSynchronize", cudaStreamSynchronize(slot.stream));
      CountBusy(slot);
    }
    return UnpackRows(slot.packed, slot.host_out.data(), model_->output_width());
  }

  // Seconds per forward pass of `rows` rows, the GEMMs alone on device-resident data,
  // averaged over `repeats` after one warm-up.
  Result<double> TimeGemmsOnly(int rows, int repeats) {
    auto& slot = slots_[0];
    const std::size_t n = static_cast<std::size_t>(rows) * widest_;
    if (auto s = slot.act_a.Reserve(n); !s) return std::unexpected(s.error());
    if (auto s = slot.act_b.Reserve(n); !s) return std::unexpected(s.error());
    BATCHQ_RETURN_IF_CUDA_ERR("cudaMemset",
                              cudaMemsetAsync(slot.act_a.data(), 0, n * 4, slot.stream));
    BATCHQ_RETURN_IF_CUDA_ERR("cudaMemset",
                              cudaMemsetAsync(slot.act_b.data(), 0, n * 4, slot.stream));
    BATCHQ_RETURN_IF_CUBLAS_ERR("cublasSetStream", set_stream, blas_, slot.stream);
    for (int r = -1; r < repeats; ++r) {
      if (r == 0) {
        BATCHQ_RETURN_IF_CUDA_ERR("cudaEventRecord", cudaEventRecord(slot.start, slot.stream));
      }
      float* current = slot.act_a.data();
      float* next = slot.act_b.data();
      for (std::size_t l = 0; l < model_->layers.size(); ++l) {
        if (auto s = Gemm(l, rows, current, next); !s) return std::unexpected(s.error());
        std::swap(current, next);
      }
    }
    BATCHQ_RETURN_IF_CUDA_ERR("cudaEventRecord", cudaEventRecord(slot.stop, slot.stream));
    BATCHQ_RETURN_IF_CUDA_ERR("cudaStreamSynchronize", cudaStreamSynchronize(slot.stream));
    float ms = 0;
    BATCHQ_RETURN_IF_CUDA_ERR("cudaEventElapsedTime",
                              cudaEventElapsedTime(&ms, slot.start, slot.stop));
    return ms / 1000.0 / std::max(repeats, 1);
  }

 private:
  // Y (rows x out, row-major) = X W^T + 0 for layer `l`. Row-major X (rows x in) and W
  // (out x in) are column-major X^T and W^T, so Y^T = (W^T)^T X^T: op(A) = T, op(B) = N.
  Status Gemm(std::size_t l, int rows, const float* x, float* y) {
    const DenseLayer& layer = model_->layers[l];
    const float one = 1.0f;
    const float zero = 0.0f;
    BATCHQ_RETURN_IF_CUBLAS_ERR("cublasSgemm", sgemm, blas_, CUBLAS_OP_T, CUBLAS_OP_N, layer.out,
                                rows, layer.in, &one, weights_[l].data(), layer.in, x, layer.in,
                                &zero, y, layer.out);
    return Ok();
  }

  Status Enqueue(MlpSlot& slot, int rows) {
    BATCHQ_RETURN_IF_CUBLAS_ERR("cublasSetStream", set_stream, blas_, slot.stream);
    BATCHQ_RETURN_IF_CUDA_ERR("cudaEventRecord", cudaEventRecord(slot.start, slot.stream));
    BATCHQ_RETURN_IF_CUDA_ERR("cudaMemcpyAsync H2D",
                              cudaMemcpyAsync(slot.act_a.data(), slot.host_in.data(),
                                              sizeof(float) * rows * model_->input_width(),
                                              cudaMemcpyHostToDevice, slot.stream));
    float* current = slot.act_a.data();
    float* next = slot.act_b.data();
    for (std::size_t l = 0; l < model_->layers.size(); ++l) {
      if (auto s = Gemm(l, rows, current, next); !s) return s;
      const bool last = l + 1 == model_->layers.size();
      const int activation = last ? 0 : (model_->activation == Activation::kGelu ? 2 : 1);
      BATCHQ_RETURN_IF_CUDA_ERR(
          "bias+activation kernel",
          LaunchBiasActivation(next, biases_[l].data(), rows, model_->layers[l].out, activation,
                               slot.stream));
      std::swap(current, next);
    }
    BATCHQ_RETURN_IF_CUDA_ERR("cudaMemcpyAsync D2H",
                              cudaMemcpyAsync(slot.host_out.data(), current,
                                              sizeof(float) * rows * model_->output_width(),
                                              cudaMemcpyDeviceToHost, slot.stream));
    BATCHQ_RETURN_IF_CUDA_ERR("cudaEventRecord", cudaEventRecord(slot.stop, slot.stream));
    return Ok();
  }

  std::shared_ptr<const MlpModel> model_;
  const bool tf32_;
  int widest_ = 0;
  const CublasLibrary* blas_lib_ = nullptr;  // set by Init before blas_
  cublasHandle_t blas_ = nullptr;
  std::vector<DeviceBuffer<float>> weights_;
  std::vector<DeviceBuffer<float>> biases_;
};

}  // namespace

Result<std::unique_ptr<Handler>> MakeMlpHandler(int device, std::shared_ptr<const MlpModel> model,
                                                bool tf32) {
  auto handler = std::make_unique<CudaMlpHandler>(std::move(model), tf32);
  if (auto status = handler->Init(device); !status) return std::unexpected(status.error());
  return std::unique_ptr<Handler>(std::move(handler));
}

Result<double> TimeCublasForward(int device, const MlpModel& model, int rows, bool tf32,
                                 int repeats) {
  // The same GEMMs as the handler, on device-resident data, nothing else: the
  // reference the handler's achieved FLOP/s is compared with.
  CudaMlpHandler shapes(std::make_shared<const MlpModel>(model), tf32);
  if (auto s = shapes.Init(device); !s) return std::unexpected(s.error());
  return shapes.TimeGemmsOnly(rows, repeats);
}

}  // namespace batchq::cuda
