// CUDA vs CPU twins: the same inputs must give the same answers. Built only with
// nvcc; skips where no device is present.
#include <random>

#include <gtest/gtest.h>

#include "common/json_writer.h"
#include "gpu_worker/cpu_handlers.h"
#include "gpu_worker/cuda/cuda_handlers.h"

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

}  // namespace
}  // namespace batchq
