#include <cublas_v2.h>

#include <memory>
#include <vector>

#include "gpu_worker/cuda/cuda_handlers.h"
#include "gpu_worker/cuda/cuda_support.h"
#include "gpu_worker/cuda/kernels.h"
#include "gpu_worker/mlp_rows.h"

namespace batchq::cuda {
namespace {

Error CublasFailure(std::string_view what, cublasStatus_t status) {
  const bool oom = status == CUBLAS_STATUS_ALLOC_FAILED;
  return Error{oom ? std::string(kOutOfMemory) : std::string("cuda_error"),
               fmt::format("{} failed: {}.", what, cublasGetStatusString(status))};
}

#define BATCHQ_RETURN_IF_CUBLAS_ERR(what, expr)                     \
  do {                                                              \
    const cublasStatus_t batchq_status = (expr);                    \
    if (batchq_status != CUBLAS_STATUS_SUCCESS) {                   \
      return std::unexpected(CublasFailure((what), batchq_status)); \
    }                                                               \
  } while (0)

// The whole batch as one matrix: one copy in, per layer one GEMM (cuBLAS) and one
// bias+activation kernel, one copy out, all on the handler's stream.
class CudaMlpHandler final : public Handler {
 public:
  CudaMlpHandler(std::shared_ptr<const MlpModel> model, bool tf32)
      : model_(std::move(model)), tf32_(tf32) {}

  ~CudaMlpHandler() override {
    if (blas_ != nullptr) cublasDestroy(blas_);
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
    BATCHQ_RETURN_IF_CUBLAS_ERR("cublasCreate", cublasCreate(&blas_));
    BATCHQ_RETURN_IF_CUBLAS_ERR("cublasSetStream", cublasSetStream(blas_, stream_));
    BATCHQ_RETURN_IF_CUBLAS_ERR(
        "cublasSetMathMode",
        cublasSetMathMode(blas_, tf32_ ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
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
    return Ok();
  }

  Result<std::vector<ItemResult>> Run(std::span<const std::string_view> inputs) override {
    BATCHQ_RETURN_IF_CUDA_ERR("cudaSetDevice", cudaSetDevice(device_));
    const int in_width = model_->input_width();
    const int out_width = model_->output_width();
    const std::size_t n = inputs.size();
    if (auto s = host_in_.Reserve(n * in_width); !s) return std::unexpected(s.error());
    if (auto s = host_out_.Reserve(n * out_width); !s) return std::unexpected(s.error());
    if (auto s = act_a_.Reserve(n * widest_); !s) return std::unexpected(s.error());
    if (auto s = act_b_.Reserve(n * widest_); !s) return std::unexpected(s.error());

    const PackedRows packed = PackRows(inputs, in_width, host_in_.data());
    const int rows = static_cast<int>(packed.rows);
    if (rows == 0) return UnpackRows(packed, nullptr, out_width);

    BATCHQ_RETURN_IF_CUDA_ERR("cudaEventRecord", cudaEventRecord(start_, stream_));
    BATCHQ_RETURN_IF_CUDA_ERR(
        "cudaMemcpyAsync H2D",
        cudaMemcpyAsync(act_a_.data(), host_in_.data(), sizeof(float) * rows * in_width,
                        cudaMemcpyHostToDevice, stream_));
    float* current = act_a_.data();
    float* next = act_b_.data();
    const float one = 1.0f;
    const float zero = 0.0f;
    for (std::size_t l = 0; l < model_->layers.size(); ++l) {
      const DenseLayer& layer = model_->layers[l];
      // Row-major X (rows x in) and W (out x in) are column-major X^T and W^T, so
      // Y^T (out x rows, i.e. row-major Y) = (W^T)^T X^T: op(A) = T, op(B) = N.
      BATCHQ_RETURN_IF_CUBLAS_ERR(
          "cublasSgemm",
          cublasSgemm(blas_, CUBLAS_OP_T, CUBLAS_OP_N, layer.out, rows, layer.in, &one,
                      weights_[l].data(), layer.in, current, layer.in, &zero, next, layer.out));
      const bool last = l + 1 == model_->layers.size();
      const int activation = last ? 0 : (model_->activation == Activation::kGelu ? 2 : 1);
      BATCHQ_RETURN_IF_CUDA_ERR(
          "bias+activation kernel",
          LaunchBiasActivation(next, biases_[l].data(), rows, layer.out, activation, stream_));
      std::swap(current, next);
    }
    BATCHQ_RETURN_IF_CUDA_ERR(
        "cudaMemcpyAsync D2H",
        cudaMemcpyAsync(host_out_.data(), current, sizeof(float) * rows * out_width,
                        cudaMemcpyDeviceToHost, stream_));
    BATCHQ_RETURN_IF_CUDA_ERR("cudaEventRecord", cudaEventRecord(stop_, stream_));
    BATCHQ_RETURN_IF_CUDA_ERR("cudaStreamSynchronize", cudaStreamSynchronize(stream_));
    float ms = 0;
    if (cudaEventElapsedTime(&ms, start_, stop_) == cudaSuccess) {
      device_time_ += std::chrono::microseconds(static_cast<std::int64_t>(ms * 1000.0f));
    }
    return UnpackRows(packed, host_out_.data(), out_width);
  }

  std::chrono::microseconds device_time() const override { return device_time_; }

  // Seconds per forward pass of `rows` rows, the GEMMs alone on device-resident data,
  // averaged over `repeats` after one warm-up.
  Result<double> TimeGemmsOnly(int rows, int repeats) {
    const std::size_t n = static_cast<std::size_t>(rows) * widest_;
    if (auto s = act_a_.Reserve(n); !s) return std::unexpected(s.error());
    if (auto s = act_b_.Reserve(n); !s) return std::unexpected(s.error());
    BATCHQ_RETURN_IF_CUDA_ERR("cudaMemset", cudaMemsetAsync(act_a_.data(), 0, n * 4, stream_));
    BATCHQ_RETURN_IF_CUDA_ERR("cudaMemset", cudaMemsetAsync(act_b_.data(), 0, n * 4, stream_));
    const float one = 1.0f;
    const float zero = 0.0f;
    for (int r = -1; r < repeats; ++r) {
      if (r == 0) BATCHQ_RETURN_IF_CUDA_ERR("cudaEventRecord", cudaEventRecord(start_, stream_));
      float* current = act_a_.data();
      float* next = act_b_.data();
      for (std::size_t l = 0; l < model_->layers.size(); ++l) {
        const DenseLayer& layer = model_->layers[l];
        BATCHQ_RETURN_IF_CUBLAS_ERR(
            "cublasSgemm",
            cublasSgemm(blas_, CUBLAS_OP_T, CUBLAS_OP_N, layer.out, rows, layer.in, &one,
                        weights_[l].data(), layer.in, current, layer.in, &zero, next, layer.out));
        std::swap(current, next);
      }
    }
    BATCHQ_RETURN_IF_CUDA_ERR("cudaEventRecord", cudaEventRecord(stop_, stream_));
    BATCHQ_RETURN_IF_CUDA_ERR("cudaStreamSynchronize", cudaStreamSynchronize(stream_));
    float ms = 0;
    BATCHQ_RETURN_IF_CUDA_ERR("cudaEventElapsedTime", cudaEventElapsedTime(&ms, start_, stop_));
    return ms / 1000.0 / std::max(repeats, 1);
  }

 private:
  std::shared_ptr<const MlpModel> model_;
  const bool tf32_;
  int device_ = 0;
  int widest_ = 0;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t start_ = nullptr;
  cudaEvent_t stop_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  std::vector<DeviceBuffer<float>> weights_;
  std::vector<DeviceBuffer<float>> biases_;
  PinnedBuffer<float> host_in_;
  PinnedBuffer<float> host_out_;
  DeviceBuffer<float> act_a_;
  DeviceBuffer<float> act_b_;
  std::chrono::microseconds device_time_{0};
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
