// BrokerMovePacing with an injected clock: a round of the endpoints goes at once, then
// each next move waits, twice as long each round up to the cap, until a broker answers.
#include "gateway/broker_move_pacing.h"

#include <gtest/gtest.h>

#include "tests/support/steady_time.h"

namespace batchq {
namespace {

using std::chrono::milliseconds;

TEST(BrokerMovePacingTest, ARoundGoesAtOnceAndTheNextWaitsLongerEachRoundUpToTheCap) {
  BrokerMovePacing pacing(2, milliseconds(50), milliseconds(150));
  ASSERT_TRUE(pacing.MayMove(SteadyAt(milliseconds(0))));
  pacing.OnMoved(SteadyAt(milliseconds(0)));
  EXPECT_TRUE(pacing.MayMove(SteadyAt(milliseconds(0)))) << "the second endpoint is asked at once";
  pacing.OnMoved(SteadyAt(milliseconds(0)));  // a full round without an answer
  EXPECT_FALSE(pacing.MayMove(SteadyAt(milliseconds(49))));
  ASSERT_TRUE(pacing.MayMove(SteadyAt(milliseconds(50))));
  pacing.OnMoved(SteadyAt(milliseconds(50)));
  EXPECT_TRUE(pacing.MayMove(SteadyAt(milliseconds(50))));
  pacing.OnMoved(SteadyAt(milliseconds(50)));
  EXPECT_FALSE(pacing.MayMove(SteadyAt(milliseconds(149)))) << "the second round's pause is 100 ms";
  ASSERT_TRUE(pacing.MayMove(SteadyAt(milliseconds(150))));
  pacing.OnMoved(SteadyAt(milliseconds(150)));
  pacing.OnMoved(SteadyAt(milliseconds(150)));
  EXPECT_EQ(pacing.next_allowed(), SteadyAt(milliseconds(300))) << "capped at 150 ms";
  pacing.OnMoved(SteadyAt(milliseconds(300)));
  pacing.OnMoved(SteadyAt(milliseconds(300)));
  EXPECT_EQ(pacing.next_allowed(), SteadyAt(milliseconds(450)));
}

TEST(BrokerMovePacingTest, OneEndpointWaitsAfterEachMove) {
  BrokerMovePacing pacing(1, milliseconds(50), milliseconds(2000));
  pacing.OnMoved(SteadyAt(milliseconds(0)));
  EXPECT_FALSE(pacing.MayMove(SteadyAt(milliseconds(1))))
      << "a host that refuses at once would be redialled at once";
  EXPECT_EQ(pacing.next_allowed(), SteadyAt(milliseconds(50)));
}

TEST(BrokerMovePacingTest, AnActiveBrokersAnswerStartsOver) {
  BrokerMovePacing pacing(2, milliseconds(50), milliseconds(2000));
  for (int i = 0; i < 6; ++i) pacing.OnMoved(SteadyAt(milliseconds(0)));  // three rounds: 200 ms
  EXPECT_EQ(pacing.next_allowed(), SteadyAt(milliseconds(200)));
  pacing.OnAnswered();
  EXPECT_TRUE(pacing.MayMove(SteadyAt(milliseconds(0))));
  pacing.OnMoved(SteadyAt(milliseconds(0)));
  EXPECT_TRUE(pacing.MayMove(SteadyAt(milliseconds(0)))) << "a new round, from its first endpoint";
  pacing.OnMoved(SteadyAt(milliseconds(0)));
  EXPECT_EQ(pacing.next_allowed(), SteadyAt(milliseconds(50))) << "the pause starts over";
}

}  // namespace
}  // namespace batchq
