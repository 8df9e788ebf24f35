// The two-phase form over CPU handlers: two batches in flight at once, collected in
// order, with the same answers Run gives.
#include <gtest/gtest.h>

#include "gpu_worker/cpu_render_handler.h"
#include "gpu_worker/two_phase_cpu_handler.h"

namespace batchq {
namespace {

TEST(TwoPhaseCpuHandlerTest, TwoLaunchedBatchesGiveWhatRunGives) {
  auto handler = MakeTwoPhaseCpuHandler([] { return MakeCpuRenderHandler(); });
  ASSERT_EQ(handler->launch_slots(), 2);
  const std::vector<std::string_view> first = {R"({"width":40,"height":30})", R"({"width":-1})"};
  const std::vector<std::string_view> second = {R"({"width":20,"height":20,"julia":[0,1]})"};
  auto a = handler->Launch(first);
  auto b = handler->Launch(second);
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
  // A third launch finds no free slot: an error, not a wait or a crash.
  auto c = handler->Launch(second);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kHandlerError);

  auto first_results = handler->Collect(*a);
  auto second_results = handler->Collect(*b);
  ASSERT_TRUE(first_results && second_results);
  auto reference = MakeCpuRenderHandler();
  auto expected_first = reference->Run(first);
  auto expected_second = reference->Run(second);
  ASSERT_EQ(first_results->size(), 2u);
  EXPECT_EQ((*first_results)[0]->blob, (*expected_first)[0]->blob);
  EXPECT_EQ((*first_results)[1].error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ((*second_results)[0]->blob, (*expected_second)[0]->blob);
  // Collecting twice is refused.
  EXPECT_FALSE(handler->Collect(*a));
  // Run still works between launches.
  auto run = handler->Run(second);
  ASSERT_TRUE(run);
  EXPECT_EQ((*run)[0]->blob, (*expected_second)[0]->blob);
}

}  // namespace
}  // namespace batchq
