#pragma once
// A dense feed-forward network: linear layers (y = W x + b) with an activation after
// every layer but the last. Weights come from a safetensors file or, for tests and
// benchmarks that need no download, from a seed. Immutable once built; shared
// read-only by the CPU and CUDA handlers.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "gpu_worker/safetensors.h"

namespace batchq {

enum class Activation { kRelu, kGelu };
Result<Activation> ParseActivation(std::string_view name);  // "relu" | "gelu"
std::string_view ToString(Activation activation);

struct DenseLayer {
  int in = 0;
  int out = 0;
  std::vector<float> weight;  // out x in, row-major: PyTorch's nn.Linear layout
  std::vector<float> bias;    // out
};

struct MlpModel {
  std::vector<DenseLayer> layers;
  Activation activation = Activation::kRelu;

  int input_width() const { return layers.front().in; }
  int output_width() const { return layers.back().out; }
  // Multiply-adds of one item's forward pass, times 2: FLOPs per item.
  std::int64_t FlopsPerItem() const;
};

// Layers are the tensor pairs `P.weight` [out, in] and `P.bias` [out], ordered by P with
// numbers compared as numbers ("layers.2" before "layers.10"); widths must chain.
Result<MlpModel> MlpFromSafetensors(const SafetensorsFile& file, Activation activation);

// Uniform weights in ±1/sqrt(in) from a SplitMix64 stream: the same model on every
// machine for the same widths and seed. `widths` = input, hidden..., output.
Result<MlpModel> SeededMlp(std::span<const int> widths, std::uint64_t seed, Activation activation);

// The model's tensors, named as MlpFromSafetensors reads them (layers.{i}.weight/bias).
std::vector<NamedFloats> MlpTensors(const MlpModel& model);

// The activation the CPU and CUDA twins both apply (GELU: the exact erf form).
float Activate(Activation activation, float x);

}  // namespace batchq
