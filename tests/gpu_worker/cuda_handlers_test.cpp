// CUDA vs CPU twins: the same inputs must give the same answers. Built only with
// nvcc; skips where no device is present.
#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "common/json_writer.h"
#include "gpu_worker/cpu_handlers.h"
#include "gpu_worker/cpu_mlp_handler.h"
#include "gpu_worker/cpu_render_handler.h"
#include "gpu_worker/cuda/cuda_handlers.h"
#include "gpu_worker/float_vector_codec.h"

namespace batchq {
namespace {

class CudaHandlersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cuda::ProbeDevices(0).device_count == 0) GTEST_SKIP() << "no CUDA device present";
  }
};

TEST_F(CudaHandlersTest, UpperMatchesCpuOnRandomBatches) {
  auto gpu = cuda::MakeUpperHandler(0);
  ASSERT_TRUE(gpu) << gpu.error().message;
  auto cpu = MakeCpuUpperHandler();
  std::mt19937 rng(12345);
  for (int round = 0; round < 20; ++round) {
    const int items = 1 + static_cast<int>(rng() % 200);
    std::vector<std::string> texts;
    for (int i = 0; i < items; ++i) {
      std::string text(rng() % 300, ' ');
      for (char& c : text) c = static_cast<char>(32 + rng() % 95);
      if (i % 7 == 0) text += "ünïcödé";
      std::string json;
      if (i % 11 == 5) {
        json = std::to_string(i);  // not a string: a per-item error on both
      } else {
        AppendJsonString(json, text);
      }
      texts.push_back(json);
    }
    std::vector<std::string_view> inputs(texts.begin(), texts.end());
    auto a = (*gpu)->Run(inputs);
    auto b = cpu->Run(inputs);
    ASSERT_TRUE(a) << a.error().message;
    ASSERT_TRUE(b);
    ASSERT_EQ(a->size(), b->size());
    for (size_t i = 0; i < a->size(); ++i) {
      ASSERT_EQ((*a)[i].has_value(), (*b)[i].has_value()) << i;
      if ((*a)[i]) {
        EXPECT_EQ((*a)[i]->json, (*b)[i]->json) << i;
        EXPECT_EQ((*a)[i]->blob, (*b)[i]->blob) << i;
      } else {
        EXPECT_EQ((*a)[i].error().code, (*b)[i].error().code);
      }
    }
  }
}

TEST_F(CudaHandlersTest, SleepAnswersEveryItem) {
  auto gpu = cuda::MakeSleepHandler(
      0, SleepCost{std::chrono::microseconds(100), std::chrono::microseconds(1)});
  ASSERT_TRUE(gpu) << gpu.error().message;
  const std::vector<std::string_view> inputs{"1", "2", "3"};
  auto results = (*gpu)->Run(inputs);
  ASSERT_TRUE(results) << results.error().message;
  ASSERT_EQ(results->size(), 3u);
  for (const auto& result : *results) EXPECT_EQ(result->json, R"({"ok":true})");
}

// Documented tolerance (README): fp32 cuBLAS vs OpenBLAS differ only by summation
// order, |gpu - cpu| <= 1e-4 * (1 + |cpu|); TF32 rounds inputs to 10 mantissa bits,
// |gpu - cpu| <= 2e-2 * (1 + |cpu|).
void ExpectMlpClose(bool tf32, double tolerance) {
  const std::vector<int> widths = {64, 256, 256, 32};
  for (const char* activation : {"relu", "gelu"}) {
    auto model = SeededMlp(widths, 99, *ParseActivation(activation));
    ASSERT_TRUE(model);
    auto shared = std::make_shared<const MlpModel>(std::move(*model));
    auto gpu = cuda::MakeMlpHandler(0, shared, tf32);
    ASSERT_TRUE(gpu) << gpu.error().message;
    auto cpu = MakeCpuMlpHandler(shared);
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> value(-2.0f, 2.0f);
    for (const int items : {1, 7, 64, 300}) {
      std::vector<std::string> texts;
      for (int i = 0; i < items; ++i) {
        std::vector<float> x(i % 13 == 3 ? 63 : 64);  // some wrong widths: per-item errors
        for (auto& v : x) v = value(rng);
        texts.push_back(EncodeFloatVector(x));
      }
      std::vector<std::string_view> inputs(texts.begin(), texts.end());
      auto a = (*gpu)->Run(inputs);
      auto b = cpu->Run(inputs);
      ASSERT_TRUE(a) << a.error().message;
      ASSERT_TRUE(b);
      ASSERT_EQ(a->size(), b->size());
      for (std::size_t i = 0; i < a->size(); ++i) {
        ASSERT_EQ((*a)[i].has_value(), (*b)[i].has_value()) << i;
        if (!(*a)[i]) continue;
        std::vector<float> ga(32);
        std::vector<float> cb(32);
        ASSERT_TRUE(DecodeFloatVector((*a)[i]->json, ga));
        ASSERT_TRUE(DecodeFloatVector((*b)[i]->json, cb));
        for (int j = 0; j < 32; ++j) {
          EXPECT_LE(std::abs(ga[j] - cb[j]), tolerance * (1 + std::abs(cb[j])))
              << activation << " item " << i << " output " << j;
        }
      }
    }
    EXPECT_GT((*gpu)->device_time().count(), 0);
  }
}

TEST_F(CudaHandlersTest, MlpMatchesCpuWithinTheFp32Tolerance) { ExpectMlpClose(false, 1e-4); }

TEST_F(CudaHandlersTest, MlpWithTf32MatchesCpuWithinTheTf32Tolerance) {
  ExpectMlpClose(true, 2e-2);
}

TEST_F(CudaHandlersTest, RenderGivesPixelIdenticalPngsToTheCpu) {
  auto gpu = cuda::MakeRenderHandler(0);
  ASSERT_TRUE(gpu) << gpu.error().message;
  auto cpu = MakeCpuRenderHandler();
  const std::vector<std::string_view> inputs = {
      R"({"width":4,"height":4,"center":[0,0],"scale":4,"iterations":16})",
      R"({"width":320,"height":200,"iterations":500})",
      R"({"width":257,"height":129,"center":[-0.7436447860,0.1318252536],"scale":1e-7,)"
      R"("iterations":5000,"colormap":"gray"})",
      R"({"width":0})",
      R"({"width":300,"height":300,"julia":[-0.8,0.156],"colormap":"ocean","iterations":800})"};
  auto a = (*gpu)->Run(inputs);
  auto b = cpu->Run(inputs);
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_TRUE(b);
  ASSERT_EQ(a->size(), b->size());
  for (std::size_t i = 0; i < a->size(); ++i) {
    ASSERT_EQ((*a)[i].has_value(), (*b)[i].has_value()) << i;
    if (!(*a)[i]) continue;
    EXPECT_EQ((*a)[i]->blob, (*b)[i]->blob) << "image " << i << " differs";
    EXPECT_EQ((*a)[i]->json, (*b)[i]->json);
  }
}

TEST_F(CudaHandlersTest, OutOfMemoryIsAnErrorValueTheSplitterRecognises) {
  // 1 -> 65536 wide: 600k rows need ~157 GB of output buffers, more than the H200 or
  // its host has. The handler must say kOutOfMemory (not abort, not a sticky error),
  // and then serve a batch that fits.
  const std::vector<int> widths = {1, 65536};
  auto model = SeededMlp(widths, 1, Activation::kRelu);
  ASSERT_TRUE(model);
  auto handler =
      cuda::MakeMlpHandler(0, std::make_shared<const MlpModel>(std::move(*model)), false);
  ASSERT_TRUE(handler) << handler.error().message;
  std::vector<std::string_view> inputs(600'000, "[1]");
  auto too_big = (*handler)->Run(inputs);
  ASSERT_FALSE(too_big);
  EXPECT_EQ(too_big.error().code, kOutOfMemory) << too_big.error().message;
  auto fits = (*handler)->Run(std::span(inputs).first(2));
  ASSERT_TRUE(fits) << fits.error().message;
  EXPECT_TRUE((*fits)[1]);
}

}  // namespace
}  // namespace batchq
