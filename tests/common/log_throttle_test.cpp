#include "common/log_throttle.h"

#include <gtest/gtest.h>

namespace batchq {
namespace {

using namespace std::chrono_literals;

TEST(LogThrottleTest, OneLinePerKeyPerIntervalCountingTheRest) {
  LogThrottle throttle(1s);
  const LogThrottle::Clock::time_point t0{1h};
  EXPECT_EQ(throttle.Admit("peer-a", t0), 0u);
  EXPECT_FALSE(throttle.Admit("peer-a", t0 + 10ms));
  EXPECT_FALSE(throttle.Admit("peer-a", t0 + 999ms));
  EXPECT_EQ(throttle.Admit("peer-b", t0 + 10ms), 0u) << "another peer has its own budget";
  EXPECT_EQ(throttle.Admit("peer-a", t0 + 1s), 2u) << "the two held back are reported";
  EXPECT_FALSE(throttle.Admit("peer-a", t0 + 1500ms));
  EXPECT_EQ(throttle.Admit("peer-a", t0 + 3s), 1u);
  EXPECT_EQ(throttle.Admit("peer-a", t0 + 5s), 0u);
}

TEST(LogThrottleTest, ManyPeersShareOneBudgetPastTheKeyLimitAndQuietOnesAreForgotten) {
  LogThrottle throttle(1s, /*max_keys=*/2);
  const LogThrottle::Clock::time_point t0{1h};
  EXPECT_TRUE(throttle.Admit("a", t0));
  EXPECT_TRUE(throttle.Admit("b", t0));
  EXPECT_TRUE(throttle.Admit("c", t0)) << "the first overflow line";
  EXPECT_FALSE(throttle.Admit("d", t0)) << "shares c's budget";
  EXPECT_FALSE(throttle.Admit("e", t0));
  // A second later a and b are quiet: they leave the table and f gets a place of its own.
  EXPECT_EQ(throttle.Admit("f", t0 + 1s), 0u);
  EXPECT_EQ(throttle.Admit("g", t0 + 1s), 0u);
  EXPECT_EQ(throttle.Admit("h", t0 + 1s), 2u) << "the overflow's held-back lines";
}

TEST(LogThrottleTest, HeldBackNoteIsEmptyForNone) {
  EXPECT_EQ(HeldBackNote(0), "");
  EXPECT_EQ(HeldBackNote(3), " (3 more since the last line)");
}

}  // namespace
}  // namespace batchq
