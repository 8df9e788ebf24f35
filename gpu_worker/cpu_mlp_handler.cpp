#include "gpu_worker/cpu_mlp_handler.h"

#include <cblas.h>

#include "gpu_worker/mlp_rows.h"

namespace batchq {

std::vector<float> CpuMlpForward(const MlpModel& model, std::span<const float> input,
                                 std::size_t rows) {
  std::vector<float> current(input.begin(), input.end());
  std::vector<float> next;
  for (std::size_t l = 0; l < model.layers.size(); ++l) {
    const DenseLayer& layer = model.layers[l];
    next.resize(rows * layer.out);
    // Y (rows x out) = X (rows x in) * W^T, W being out x in.
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), layer.out,
                layer.in, 1.0f, current.data(), layer.in, layer.weight.data(), layer.in, 0.0f,
                next.data(), layer.out);
    const bool last = l + 1 == model.layers.size();
    for (std::size_t r = 0; r < rows; ++r) {
      float* row = next.data() + r * layer.out;
      for (int j = 0; j < layer.out; ++j) {
        const float v = row[j] + layer.bias[j];
        row[j] = last ? v : Activate(model.activation, v);
      }
    }
    current.swap(next);
  }
  return current;
}

namespace {

class CpuMlpHandler final : public Handler {
 public:
  explicit CpuMlpHandler(std::shared_ptr<const MlpModel> model) : model_(std::move(model)) {}

  Result<std::vector<ItemResult>> Run(std::span<const std::string_view> inputs) override {
    const int width = model_->input_width();
    input_.resize(inputs.size() * width);
    const PackedRows packed = PackRows(inputs, width, input_.data());
    if (packed.rows == 0) return UnpackRows(packed, nullptr, model_->output_width());
    const auto output = CpuMlpForward(
        *model_, std::span<const float>(input_.data(), packed.rows * width), packed.rows);
    return UnpackRows(packed, output.data(), model_->output_width());
  }

 private:
  std::shared_ptr<const MlpModel> model_;
  std::vector<float> input_;  // reused across batches
};

}  // namespace

std::unique_ptr<Handler> MakeCpuMlpHandler(std::shared_ptr<const MlpModel> model) {
  return std::make_unique<CpuMlpHandler>(std::move(model));
}

}  // namespace batchq
