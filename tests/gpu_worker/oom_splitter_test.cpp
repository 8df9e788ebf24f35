// Out-of-memory splitting, driven by a handler whose device "fits" a set number of items.
#include <gtest/gtest.h>

#include "gpu_worker/oom_splitter.h"

namespace batchq {
namespace {

// A stand-in device with room for `capacity` items per batch; echoes its inputs.
class BoundedHandler final : public Handler {
 public:
  explicit BoundedHandler(std::size_t capacity) : capacity_(capacity) {}
  Result<std::vector<ItemResult>> Run(std::span<const std::string_view> inputs) override {
    sizes.push_back(inputs.size());
    if (inputs.size() > capacity_) return Fail(kOutOfMemory, "out of memory");
    std::vector<ItemResult> out;
    for (auto input : inputs) out.push_back(ItemOutput(std::string(input)));
    return out;
  }
  std::vector<std::size_t> sizes;

 private:
  std::size_t capacity_;
};

TEST(OomSplitterTest, HalvesUntilTheBatchFitsAndKeepsTheOrder) {
  BoundedHandler handler(3);
  const std::vector<std::string_view> inputs = {"a", "b", "c", "d", "e", "f", "g", "h"};
  auto results = RunSplittingOnOom(handler, inputs);
  ASSERT_TRUE(results);
  ASSERT_EQ(results->size(), 8u);
  for (std::size_t i = 0; i < 8; ++i) EXPECT_EQ((*results)[i]->json, inputs[i]);
  EXPECT_EQ(handler.sizes, (std::vector<std::size_t>{8, 4, 2, 2, 4, 2, 2}));
}

TEST(OomSplitterTest, AnItemThatNeverFitsFailsAlone) {
  BoundedHandler handler(0);
  const std::vector<std::string_view> inputs = {"a", "b"};
  auto results = RunSplittingOnOom(handler, inputs);
  ASSERT_TRUE(results);
  ASSERT_EQ(results->size(), 2u);
  EXPECT_EQ((*results)[0].error().code, kOutOfMemory);
  EXPECT_EQ((*results)[1].error().code, kOutOfMemory);
}

TEST(OomSplitterTest, OtherDeviceErrorsFailTheWholeBatchWithoutSplitting) {
  class Broken final : public Handler {
   public:
    Result<std::vector<ItemResult>> Run(std::span<const std::string_view>) override {
      ++calls;
      return Fail(ErrorCode::kCudaError, "an illegal memory access was encountered");
    }
    int calls = 0;
  } handler;
  const std::vector<std::string_view> inputs = {"a", "b", "c"};
  auto results = RunSplittingOnOom(handler, inputs);
  ASSERT_FALSE(results);
  EXPECT_EQ(results.error().code, ErrorCode::kCudaError);
  EXPECT_EQ(handler.calls, 1);
}

}  // namespace
}  // namespace batchq
