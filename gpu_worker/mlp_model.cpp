#include "gpu_worker/mlp_model.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>

#include <fmt/format.h>

namespace batchq {
namespace {

// "layers.10" after "layers.2": runs of digits compare by value.
bool NaturalLess(std::string_view a, std::string_view b) {
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < a.size() && j < b.size()) {
    const bool da = std::isdigit(static_cast<unsigned char>(a[i])) != 0;
    const bool db = std::isdigit(static_cast<unsigned char>(b[j])) != 0;
    if (da && db) {
      std::size_t ie = i;
      std::size_t je = j;
      while (ie < a.size() && std::isdigit(static_cast<unsigned char>(a[ie]))) ++ie;
      while (je < b.size() && std::isdigit(static_cast<unsigned char>(b[je]))) ++je;
      std::string_view na = a.substr(i, ie - i);
      std::string_view nb = b.substr(j, je - j);
      while (na.size() > 1 && na.front() == '0') na.remove_prefix(1);
      while (nb.size() > 1 && nb.front() == '0') nb.remove_prefix(1);
      if (na.size() != nb.size()) return na.size() < nb.size();
      if (na != nb) return na < nb;
      i = ie;
      j = je;
      continue;
    }
    if (a[i] != b[j]) return a[i] < b[j];
    ++i;
    ++j;
  }
  return a.size() - i < b.size() - j;
}

struct NaturalOrder {
  bool operator()(const std::string& a, const std::string& b) const { return NaturalLess(a, b); }
};

std::uint64_t SplitMix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Exactly representable in float: 24 random bits scaled to [-1, 1).
float UniformSigned(std::uint64_t& state) {
  const auto bits = static_cast<std::int64_t>(SplitMix64(state) >> 40);
  return static_cast<float>(bits - (1 << 23)) / static_cast<float>(1 << 23);
}

}  // namespace

Result<Activation> ParseActivation(std::string_view name) {
  if (name == "relu") return Activation::kRelu;
  if (name == "gelu") return Activation::kGelu;
  return Fail(ErrorCode::kInvalidModel,
              fmt::format("Unknown activation '{}'; use relu or gelu.", name));
}

std::string_view ToString(Activation activation) {
  return activation == Activation::kGelu ? "gelu" : "relu";
}

float Activate(Activation activation, float x) {
  if (activation == Activation::kRelu) return x > 0.0f ? x : 0.0f;
  return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f));
}

std::int64_t MlpModel::FlopsPerItem() const {
  std::int64_t flops = 0;
  for (const auto& layer : layers) flops += 2 * static_cast<std::int64_t>(layer.in) * layer.out;
  return flops;
}

Result<MlpModel> MlpFromSafetensors(const SafetensorsFile& file, Activation activation) {
  std::map<std::string, std::pair<const SafetensorsTensor*, const SafetensorsTensor*>, NaturalOrder>
      pairs;
  for (const auto& tensor : file.tensors()) {
    const std::string_view name = tensor.name;
    if (name.ends_with(".weight")) {
      pairs[std::string(name.substr(0, name.size() - 7))].first = &tensor;
    } else if (name.ends_with(".bias")) {
      pairs[std::string(name.substr(0, name.size() - 5))].second = &tensor;
    } else {
      return Fail(ErrorCode::kInvalidModel,
                  fmt::format("Tensor '{}' is neither a '.weight' nor a '.bias'.", name));
    }
  }
  if (pairs.empty()) return Fail(ErrorCode::kInvalidModel, "The weights file holds no layers.");
  MlpModel model;
  model.activation = activation;
  for (const auto& [prefix, pair] : pairs) {
    const auto [weight, bias] = pair;
    if (weight == nullptr || bias == nullptr) {
      return Fail(
          ErrorCode::kInvalidModel,
          fmt::format("Layer '{}' needs both '{}.weight' and '{}.bias'.", prefix, prefix, prefix));
    }
    if (weight->shape.size() != 2 || bias->shape.size() != 1 ||
        bias->shape[0] != weight->shape[0] || weight->shape[0] == 0 || weight->shape[1] == 0) {
      return Fail(ErrorCode::kInvalidModel,
                  fmt::format("Layer '{}' must have weight [out, in] and bias [out].", prefix));
    }
    DenseLayer layer;
    layer.out = static_cast<int>(weight->shape[0]);
    layer.in = static_cast<int>(weight->shape[1]);
    if (!model.layers.empty() && model.layers.back().out != layer.in) {
      return Fail(ErrorCode::kInvalidModel,
                  fmt::format("Layer '{}' takes {} inputs but the layer before gives {}.", prefix,
                              layer.in, model.layers.back().out));
    }
    auto w = file.Floats(*weight);
    if (!w) return std::unexpected(w.error());
    auto b = file.Floats(*bias);
    if (!b) return std::unexpected(b.error());
    layer.weight = std::move(*w);
    layer.bias = std::move(*b);
    model.layers.push_back(std::move(layer));
  }
  return model;
}

Result<MlpModel> SeededMlp(std::span<const int> widths, std::uint64_t seed, Activation activation) {
  if (widths.size() < 2) {
    return Fail(ErrorCode::kInvalidModel, "A network needs at least an input and an output width.");
  }
  for (const int w : widths) {
    if (w <= 0 || w > 65536) {
      return Fail(ErrorCode::kInvalidModel, fmt::format("Layer width {} is not in 1..65536.", w));
    }
  }
  MlpModel model;
  model.activation = activation;
  std::uint64_t state = seed;
  for (std::size_t i = 0; i + 1 < widths.size(); ++i) {
    DenseLayer layer;
    layer.in = widths[i];
    layer.out = widths[i + 1];
    const float bound = 1.0f / std::sqrt(static_cast<float>(layer.in));
    layer.weight.resize(static_cast<std::size_t>(layer.in) * layer.out);
    for (auto& w : layer.weight) w = UniformSigned(state) * bound;
    layer.bias.resize(layer.out);
    for (auto& b : layer.bias) b = UniformSigned(state) * bound;
    model.layers.push_back(std::move(layer));
  }
  return model;
}

std::vector<NamedFloats> MlpTensors(const MlpModel& model) {
  std::vector<NamedFloats> tensors;
  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    const auto& layer = model.layers[i];
    tensors.push_back({fmt::format("layers.{}.weight", i), {layer.out, layer.in}, layer.weight});
    tensors.push_back({fmt::format("layers.{}.bias", i), {layer.out}, layer.bias});
  }
  return tensors;
}

}  // namespace batchq
