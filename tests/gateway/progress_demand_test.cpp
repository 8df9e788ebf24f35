// ProgressDemand alone, with time as an argument: when the listener should hear the
// progress channel, and what a stream's Await does.
#include "gateway/progress_demand.h"

#include <gtest/gtest.h>

namespace batchq {
namespace {

using namespace std::chrono_literals;
using Clock = ProgressDemand::Clock;

const Clock::time_point t0 = Clock::time_point() + 1h;

TEST(ProgressDemandTest, NothingIsWantedBeforeAnyStream) {
  ProgressDemand demand(30s, nullptr);
  EXPECT_FALSE(demand.Wanted(t0, 0));
  EXPECT_FALSE(demand.flowing());
}

TEST(ProgressDemandTest, ItIsWantedWhileStreamsAreOpenAndForTheLingerAfterTheLast) {
  ProgressDemand demand(30s, nullptr);
  EXPECT_TRUE(demand.Wanted(t0, 2));
  EXPECT_TRUE(demand.Wanted(t0 + 10s, 1));
  EXPECT_TRUE(demand.Wanted(t0 + 39s, 0)) << "within the linger after the last open stream";
  EXPECT_FALSE(demand.Wanted(t0 + 40s, 0)) << "the linger runs from when a stream was last open";
  EXPECT_TRUE(demand.Wanted(t0 + 41s, 1));
}

TEST(ProgressDemandTest, AnAwaitWantsItForTheLingerAndWakesTheListener) {
  int wakes = 0;
  ProgressDemand demand(30s, [&] { ++wakes; });
  EXPECT_EQ(demand.Await(t0, 0ms), ProgressDemand::Answer::kNotYet) << "nothing flows yet";
  EXPECT_EQ(wakes, 1);
  EXPECT_TRUE(demand.Wanted(t0 + 29s, 0)) << "a stream about to open counts";
  EXPECT_FALSE(demand.Wanted(t0 + 30s, 0));
  // An earlier time does not take the demand back.
  EXPECT_EQ(demand.Await(t0 - 10s, 0ms), ProgressDemand::Answer::kNotYet);
  EXPECT_TRUE(demand.Wanted(t0 + 29s, 0));
}

TEST(ProgressDemandTest, AwaitReturnsOnceTheListenerSaysItFlows) {
  ProgressDemand* self = nullptr;
  // The listener confirms the subscription as soon as it is woken.
  ProgressDemand demand(30s, [&] { self->Flowing(true); });
  self = &demand;
  EXPECT_EQ(demand.Await(t0, 10s), ProgressDemand::Answer::kFlowing);
  EXPECT_TRUE(demand.flowing());
}

TEST(ProgressDemandTest, AwaitWhileFlowingNeitherWaitsNorWakesButStillCounts) {
  int wakes = 0;
  ProgressDemand demand(30s, [&] { ++wakes; });
  demand.Flowing(true);
  EXPECT_EQ(demand.Await(t0, 0ms), ProgressDemand::Answer::kFlowing);
  EXPECT_EQ(wakes, 0);
  EXPECT_TRUE(demand.Wanted(t0 + 29s, 0));
  demand.Flowing(false);
  EXPECT_EQ(demand.Await(t0, 0ms), ProgressDemand::Answer::kNotYet)
      << "left or lost: a stream must wait again";
}

TEST(ProgressDemandTest, OnceNoLongerWantedItNoLongerCountsAsFlowing) {
  int wakes = 0;
  ProgressDemand demand(30s, [&] { ++wakes; });
  EXPECT_TRUE(demand.Wanted(t0, 1));
  demand.Flowing(true);
  // The listener is about to leave the channel: a stream must not count on it.
  EXPECT_FALSE(demand.Wanted(t0 + 30s, 0));
  EXPECT_FALSE(demand.flowing());
  EXPECT_EQ(demand.Await(t0 + 30s, 0ms), ProgressDemand::Answer::kNotYet);
  EXPECT_EQ(wakes, 1) << "the listener is asked to subscribe again";
  EXPECT_TRUE(demand.Wanted(t0 + 31s, 0));
}

TEST(ProgressDemandTest, ARefusalEndsAWaitingAwaitAndIsAnsweredAtOnceUntilCleared) {
  int wakes = 0;
  ProgressDemand* self = nullptr;
  // The listener, woken the first time, is refused the channel by Redis.
  ProgressDemand demand(30s, [&] {
    if (++wakes == 1) self->Refused(true);
  });
  self = &demand;
  // An hour: a refusal that did not end the wait would hang here, not pass late.
  EXPECT_EQ(demand.Await(t0, 1h), ProgressDemand::Answer::kRefused);
  EXPECT_EQ(demand.Await(t0 + 1s, 1h), ProgressDemand::Answer::kRefused);
  EXPECT_EQ(wakes, 1) << "woken again while refused";
  EXPECT_TRUE(demand.Wanted(t0 + 30s, 0)) << "a refused Await still counts as demand";
  // A new connection may be granted it: the next Await waits again.
  demand.Refused(false);
  EXPECT_EQ(demand.Await(t0 + 2s, 0ms), ProgressDemand::Answer::kNotYet);
  EXPECT_EQ(wakes, 2);
  demand.Refused(true);
  demand.Flowing(true);
  EXPECT_EQ(demand.Await(t0 + 3s, 0ms), ProgressDemand::Answer::kFlowing)
      << "a confirmed subscription clears the refusal";
  demand.Flowing(false);
  EXPECT_EQ(demand.Await(t0 + 4s, 0ms), ProgressDemand::Answer::kNotYet);
}

}  // namespace
}  // namespace batchq
