// BrokerMovePacing with an injected clock: a round of the endpoints goes at once, then
// each next move waits, twice as long each round up to the cap, until a broker answers.
#include "gateway/broker_move_pacing.h"

#include <gtest/gtest.h>

namespace batchq {
namespace {

using std::chrono::milliseconds;
using TimePoint = BrokerMovePacing::TimePoint;

TimePoint At(milliseconds t) { return TimePoint{} + std::chrono::hours(1) + t; }

TEST(BrokerMovePacingTest, ARoundGoesAtOnceAndTheNextWaitsLongerEachRoundUpToTheCap) {
  BrokerMovePacing pacing(2, milliseconds(50), milliseconds(150));
  ASSERT_TRUE(pacing.MayMove(At(milliseconds(0))));
  pacing.OnMoved(At(milliseconds(0)));
  EXPECT_TRUE(pacing.MayMove(At(milliseconds(0)))) << "the second endpoint is asked at once";
  pacing.OnMoved(At(milliseconds(0)));  // a full round without an answer
  EXPECT_FALSE(pacing.MayMove(At(milliseconds(49))));
  ASSERT_TRUE(pacing.MayMove(At(milliseconds(50))));
  pacing.OnMoved(At(milliseconds(50)));
  EXPECT_TRUE(pacing.MayMove(At(milliseconds(50))));
  pacing.OnMoved(At(milliseconds(50)));
  EXPECT_FALSE(pacing.MayMove(At(milliseconds(149)))) << "the second round's pause is 100 ms";
  ASSERT_TRUE(pacing.MayMove(At(milliseconds(150))));
  pacing.OnMoved(At(milliseconds(150)));
  pacing.OnMoved(At(milliseconds(150)));
  EXPECT_EQ(pacing.next_allowed(), At(milliseconds(300))) << "capped at 150 ms";
  pacing.OnMoved(At(milliseconds(300)));
  pacing.OnMoved(At(milliseconds(300)));
  EXPECT_EQ(pacing.next_allowed(), At(milliseconds(450)));
}

TEST(BrokerMovePacingTest, OneEndpointWaitsAfterEachMove) {
  BrokerMovePacing pacing(1, milliseconds(50), milliseconds(2000));
  pacing.OnMoved(At(milliseconds(0)));
  EXPECT_FALSE(pacing.MayMove(At(milliseconds(1))))
      << "a host that refuses at once would be redialled at once";
  EXPECT_EQ(pacing.next_allowed(), At(milliseconds(50)));
}

TEST(BrokerMovePacingTest, AnActiveBrokersAnswerStartsOver) {
  BrokerMovePacing pacing(2, milliseconds(50), milliseconds(2000));
  for (int i = 0; i < 6; ++i) pacing.OnMoved(At(milliseconds(0)));  // three rounds: 200 ms
  EXPECT_EQ(pacing.next_allowed(), At(milliseconds(200)));
  pacing.OnAnswered();
  EXPECT_TRUE(pacing.MayMove(At(milliseconds(0))));
  pacing.OnMoved(At(milliseconds(0)));
  EXPECT_TRUE(pacing.MayMove(At(milliseconds(0)))) << "a new round, from its first endpoint";
  pacing.OnMoved(At(milliseconds(0)));
  EXPECT_EQ(pacing.next_allowed(), At(milliseconds(50))) << "the pause starts over";
}

}  // namespace
}  // namespace batchq
