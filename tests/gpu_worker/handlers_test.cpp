#include <gtest/gtest.h>

#include "gpu_worker/cpu_handlers.h"
#include "gpu_worker/handler_factory.h"
#include "gpu_worker/upper_codec.h"

namespace batchq {
namespace {

TEST(CpuUpperHandlerTest, UpperCasesAsciiOnlyAndFailsNonStringsAlone) {
  auto handler = MakeCpuUpperHandler();
  const std::vector<std::string_view> inputs{R"("hello, World 42")", R"("héllo ß")", "17",
                                             R"("tab\tquote\"")", R"("")"};
  auto results = handler->Run(inputs);
  ASSERT_TRUE(results);
  ASSERT_EQ(results->size(), 5u);
  EXPECT_EQ((*results)[0]->json, R"("HELLO, WORLD 42")");
  EXPECT_EQ((*results)[1]->json, R"("HéLLO ß")");  // non-ASCII bytes untouched
  ASSERT_FALSE((*results)[2]);
  EXPECT_EQ((*results)[2].error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ((*results)[3]->json, R"("TAB\tQUOTE\"")");
  EXPECT_EQ((*results)[4]->json, R"("")");
}

TEST(CpuSleepHandlerTest, AnswersEveryItem) {
  auto handler =
      MakeCpuSleepHandler(SleepCost{std::chrono::microseconds(0), std::chrono::microseconds(0)});
  const std::vector<std::string_view> inputs{"1", "null", R"({"a":1})"};
  auto results = handler->Run(inputs);
  ASSERT_TRUE(results);
  ASSERT_EQ(results->size(), 3u);
  for (const auto& result : *results) EXPECT_EQ(result->json, R"({"ok":true})");
}

TEST(SleepCostTest, IsFixedPlusPerItem) {
  const SleepCost cost{std::chrono::microseconds(2000), std::chrono::microseconds(50)};
  EXPECT_EQ(cost.For(0), std::chrono::microseconds(2000));
  EXPECT_EQ(cost.For(10), std::chrono::microseconds(2500));
}

TEST(HandlerFactoryTest, CpuBackendServesBuiltInTypesOnly) {
  EXPECT_TRUE(MakeHandler("upper", Backend::kCpu, {}));
  EXPECT_TRUE(MakeHandler("sleep", Backend::kCpu, {}));
  auto unknown = MakeHandler("render3d", Backend::kCpu, {});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kUnknownType);
}

TEST(HandlerFactoryTest, BackendChoice) {
  auto cpu = ChooseBackend("cpu", 0);
  ASSERT_TRUE(cpu);
  EXPECT_EQ(cpu->backend, Backend::kCpu);
  EXPECT_FALSE(ChooseBackend("tpu", 0));
  auto automatic = ChooseBackend("auto", 0);
  ASSERT_TRUE(automatic);  // auto never fails: CPU when there is no device
}

}  // namespace
}  // namespace batchq
