// When a worker claims a batch: first, or with its results (claim_timing.h). Pure: the
// batches' run times are arguments.
#include "gpu_worker/claim_timing.h"

#include <gtest/gtest.h>

namespace batchq {
namespace {

using namespace std::chrono_literals;

TEST(ClaimTimingTest, ATypeNoBatchRanOfIsClaimedFirst) {
  const ClaimTiming timing(5ms);
  EXPECT_TRUE(timing.ClaimsFirst("upper", 1));
}

TEST(ClaimTimingTest, AfterAShortBatchTheNextIsClaimedAtWrite) {
  ClaimTiming timing(5ms);
  timing.OnBatchRan("upper", 4999us);
  EXPECT_FALSE(timing.ClaimsFirst("upper", 1));
  EXPECT_TRUE(timing.ClaimsFirst("sleep", 1)) << "each type goes by its own batches";
}

TEST(ClaimTimingTest, AfterALongBatchTheNextIsClaimedFirstAgain) {
  ClaimTiming timing(5ms);
  timing.OnBatchRan("upper", 1ms);
  timing.OnBatchRan("upper", 5ms);
  EXPECT_TRUE(timing.ClaimsFirst("upper", 1)) << "a batch as long as the bound is not short";
  timing.OnBatchRan("upper", 2ms);
  EXPECT_FALSE(timing.ClaimsFirst("upper", 1));
}

TEST(ClaimTimingTest, ABatchHoldingAJobThatRanBeforeIsClaimedFirst) {
  ClaimTiming timing(5ms);
  timing.OnBatchRan("upper", 1ms);
  EXPECT_FALSE(timing.ClaimsFirst("upper", 1));
  EXPECT_TRUE(timing.ClaimsFirst("upper", 2)) << "a job whose worker was lost, run unclaimed";
}

TEST(ClaimTimingTest, AZeroBoundClaimsEveryBatchFirst) {
  ClaimTiming timing(0us);
  timing.OnBatchRan("upper", 0us);
  EXPECT_TRUE(timing.ClaimsFirst("upper", 1));
}

}  // namespace
}  // namespace batchq
