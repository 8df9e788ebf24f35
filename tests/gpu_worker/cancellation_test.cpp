// A job cancelled while its batch runs: what the worker knows of it (RunningJobs), and
// the built-in handlers that stop early for it.
#include <gtest/gtest.h>

#include "gpu_worker/cpu_handlers.h"
#include "gpu_worker/cpu_render_handler.h"
#include "gpu_worker/running_jobs.h"
#include "gpu_worker/two_phase_cpu_handler.h"

namespace batchq {
namespace {

using namespace std::chrono_literals;

TEST(RunningJobsTest, ACancelMarksItsJobByInputAddressAndOneThatCameEarlyWaitsForIt) {
  RunningJobs running;
  const std::string a = R"("same text")", b = R"("same text")";
  const std::vector<std::string_view> inputs{a, b};
  const std::vector<std::string_view> ids{"job-a", "job-b"};
  running.Cancel("job-b");  // claimed, not handed to its handler yet
  running.Add(inputs, ids);
  EXPECT_FALSE(running.Cancelled(inputs[0])) << "inputs are told apart by address, not text";
  EXPECT_TRUE(running.Cancelled(inputs[1]));
  running.Cancel("job-a");
  EXPECT_TRUE(running.Cancelled(inputs[0]));
  running.Remove(inputs);
  EXPECT_EQ(running.size(), 0u);
  EXPECT_FALSE(running.Cancelled(inputs[0]));
  // An early cancel is kept for a bounded number of cancels, not forever.
  running.Cancel("never-runs");
  for (std::size_t i = 0; i < RunningJobs::kRecentCancels; ++i) {
    running.Cancel("other-" + std::to_string(i));
  }
  const std::string late = "1";
  const std::vector<std::string_view> late_inputs{late};
  const std::vector<std::string_view> late_ids{"never-runs"};
  running.Add(late_inputs, late_ids);
  EXPECT_FALSE(running.Cancelled(late_inputs[0]));
}

TEST(CancellationTest, ASleepBatchWhoseEveryJobIsCancelledStops) {
  // An hour's sleep: the test ends only if the handler stops.
  auto sleep = MakeCpuSleepHandler(SleepCost{std::chrono::hours(1), 0us});
  RunningJobs running;
  sleep->set_cancellation(&running);
  const std::string one = "1", two = "2";
  const std::vector<std::string_view> inputs{one, two};
  const std::vector<std::string_view> ids{"s1", "s2"};
  running.Add(inputs, ids);
  running.Cancel("s1");
  running.Cancel("s2");
  auto results = sleep->Run(inputs);
  ASSERT_TRUE(results);
  ASSERT_EQ(results->size(), 2u);
  for (const auto& result : *results) {
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::kCancelled);
  }
}

TEST(CancellationTest, ARenderBatchSkipsItsCancelledJobAndRendersItsBatchMates) {
  auto render = MakeTwoPhaseCpuHandler([] { return MakeCpuRenderHandler(); }, 2);
  RunningJobs running;
  render->set_cancellation(&running);  // passed on to every slot
  const std::string a = R"({"width":8,"height":8})", b = a, c = a;
  const std::vector<std::string_view> inputs{a, b, c};
  const std::vector<std::string_view> ids{"r1", "r2", "r3"};
  running.Add(inputs, ids);
  running.Cancel("r2");
  auto ticket = render->Launch(inputs);
  ASSERT_TRUE(ticket);
  auto results = render->Collect(*ticket);
  ASSERT_TRUE(results);
  ASSERT_EQ(results->size(), 3u);
  EXPECT_TRUE((*results)[0]) << (*results)[0].error().message;
  ASSERT_FALSE((*results)[1]);
  EXPECT_EQ((*results)[1].error().code, ErrorCode::kCancelled);
  EXPECT_TRUE((*results)[2]);
  EXPECT_EQ((*results)[2]->content_type, "image/png");
}

}  // namespace
}  // namespace batchq
