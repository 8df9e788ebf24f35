// The `mlp` job on the CPU against networks small enough to check by hand, its
// input codec, and per-item errors.
#include <cmath>
#include <cstring>

#include <gtest/gtest.h>

#include "gpu_worker/cpu_mlp_handler.h"
#include "gpu_worker/float_vector_codec.h"
#include "gpu_worker/mlp_model.h"
#include "gpu_worker/safetensors.h"

namespace batchq {
namespace {

// 2 -> 2 (ReLU) -> 1. By hand: [1,2] -> h = relu(-1, 2) = (0, 2) -> 0 + 4 + 0.5 = 4.5;
// [3,1] -> h = relu(2, 5.5) -> 2 + 11 + 0.5 = 13.5.
std::vector<NamedFloats> HandCheckedTensors() {
  return {{"layers.0.weight", {2, 2}, {1, -1, 2, 0.5f}},
          {"layers.0.bias", {2}, {0, -1}},
          {"layers.1.weight", {1, 2}, {1, 2}},
          {"layers.1.bias", {1}, {0.5f}}};
}

std::shared_ptr<const MlpModel> HandCheckedModel(Activation activation = Activation::kRelu) {
  auto file = SafetensorsFile::Parse(WriteSafetensors(HandCheckedTensors()));
  EXPECT_TRUE(file);
  auto model = MlpFromSafetensors(*file, activation);
  EXPECT_TRUE(model) << model.error().message;
  return std::make_shared<const MlpModel>(std::move(*model));
}

TEST(MlpTest, TwoLayerNetworkGivesTheHandComputedOutputs) {
  auto handler = MakeCpuMlpHandler(HandCheckedModel());
  const std::vector<std::string_view> inputs = {"[1, 2]", "[3, 1]"};
  auto results = handler->Run(inputs);
  ASSERT_TRUE(results);
  ASSERT_EQ(results->size(), 2u);
  EXPECT_EQ((*results)[0]->json, "[4.5]");
  EXPECT_EQ((*results)[1]->json, "[13.5]");
}

TEST(MlpTest, GeluIsAppliedBetweenLayersOnly) {
  auto handler = MakeCpuMlpHandler(HandCheckedModel(Activation::kGelu));
  const std::vector<std::string_view> inputs = {"[1, 2]"};
  auto results = handler->Run(inputs);
  ASSERT_TRUE(results);
  // h = gelu(-1, 2) = (-0.158655, 1.954500); y = h0 + 2 h1 + 0.5 (no GELU on the output).
  const double expected = -0.15865525393145707 + 2 * 1.9544997361036416 + 0.5;
  double got = 0;
  ASSERT_EQ(std::sscanf((*results)[0]->json.c_str(), "[%lf]", &got), 1);
  EXPECT_NEAR(got, expected, 1e-5);
}

TEST(MlpTest, BadItemsFailAloneAndTheRestOfTheBatchSucceeds) {
  auto handler = MakeCpuMlpHandler(HandCheckedModel());
  const std::string b64 = EncodeFloatVectorBase64(std::vector<float>{3, 1});
  const std::vector<std::string_view> inputs = {"[1, 2, 3]",  "[1, 2]", "\"!!\"",   b64,
                                                "[1, \"x\"]", "{}",     "[1e39, 0]"};
  auto results = handler->Run(inputs);
  ASSERT_TRUE(results);
  ASSERT_EQ(results->size(), inputs.size());
  EXPECT_EQ((*results)[0].error().code, ErrorCode::kInvalidInput);
  EXPECT_NE((*results)[0].error().message.find("has 3 values; this model takes 2"),
            std::string::npos);
  EXPECT_EQ((*results)[1]->json, "[4.5]");
  EXPECT_EQ((*results)[2].error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ((*results)[3]->json, "[13.5]");  // base64 float32 input
  EXPECT_EQ((*results)[4].error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ((*results)[5].error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ((*results)[6].error().code, ErrorCode::kInvalidInput);
}

TEST(MlpTest, LayersAreOrderedByTheirNumbersNotAlphabetically) {
  // Identity-ish chain of widths 1 -> 2 -> ... where layer 10 must come after layer 2.
  std::vector<NamedFloats> tensors;
  for (int i : {0, 1, 2, 10}) {
    const int in = i == 10 ? 4 : i + 1;
    const int out = i == 10 ? 5 : i + 2;
    tensors.push_back({"layers." + std::to_string(i) + ".weight",
                       {out, in},
                       std::vector<float>(static_cast<std::size_t>(out) * in, 0.0f)});
    tensors.push_back(
        {"layers." + std::to_string(i) + ".bias", {out}, std::vector<float>(out, 0.0f)});
  }
  auto file = SafetensorsFile::Parse(WriteSafetensors(tensors));
  ASSERT_TRUE(file);
  auto model = MlpFromSafetensors(*file, Activation::kRelu);
  ASSERT_TRUE(model) << model.error().message;
  ASSERT_EQ(model->layers.size(), 4u);
  EXPECT_EQ(model->input_width(), 1);
  EXPECT_EQ(model->output_width(), 5);
}

TEST(MlpTest, SeededWeightsAreDeterministicAndBounded) {
  const std::vector<int> widths = {16, 32, 4};
  auto a = SeededMlp(widths, 7, Activation::kRelu);
  auto b = SeededMlp(widths, 7, Activation::kRelu);
  auto c = SeededMlp(widths, 8, Activation::kRelu);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->layers[0].weight, b->layers[0].weight);
  EXPECT_EQ(a->layers[1].bias, b->layers[1].bias);
  EXPECT_NE(a->layers[0].weight, c->layers[0].weight);
  for (const float w : a->layers[0].weight) EXPECT_LE(std::abs(w), 0.25f);  // 1/sqrt(16)
  EXPECT_EQ(a->FlopsPerItem(), 2 * (16 * 32 + 32 * 4));
  // Exported and read back, the seeded model is the same model.
  auto file = SafetensorsFile::Parse(WriteSafetensors(MlpTensors(*a)));
  ASSERT_TRUE(file);
  auto back = MlpFromSafetensors(*file, Activation::kRelu);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->layers[1].weight, a->layers[1].weight);
  EXPECT_FALSE(SeededMlp(std::vector<int>{4}, 1, Activation::kRelu));
  EXPECT_FALSE(SeededMlp(std::vector<int>{4, 0}, 1, Activation::kRelu));
}

TEST(MlpTest, FloatVectorCodecRoundTripsAndRefusesBadBase64) {
  const std::vector<float> values = {0.1f, -3.5f, 1e-20f, 123456.79f};
  std::vector<float> back(4);
  ASSERT_TRUE(DecodeFloatVector(EncodeFloatVector(values), back));
  EXPECT_EQ(back, values);  // shortest round-trip printing loses nothing
  ASSERT_TRUE(DecodeFloatVector(EncodeFloatVectorBase64(values), back));
  EXPECT_EQ(back, values);
  // 1.0f is 0x3f800000: its bytes, little-endian, in base64, as a JSON string.
  EXPECT_EQ(EncodeFloatVectorBase64(std::vector<float>{1.0f}), R"("AACAPw==")");
  EXPECT_EQ(EncodeFloatVector(std::vector<float>{INFINITY, 1.0f}), "[null,1]");
  EXPECT_FALSE(DecodeBase64("abc"));
  EXPECT_FALSE(DecodeBase64("ab=c"));
  EXPECT_FALSE(DecodeBase64("a*cd"));
  EXPECT_EQ(*DecodeBase64(EncodeBase64("hello")), "hello");
  EXPECT_EQ(EncodeBase64("hi"), "aGk=");
}

}  // namespace
}  // namespace batchq
