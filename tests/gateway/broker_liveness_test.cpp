// BrokerLiveness with an injected clock: a broker is gone after `liveness` unanswered
// pings over the window, and a pause of the gateway's own does not count as its silence.
#include "gateway/broker_liveness.h"

#include <gtest/gtest.h>

#include "tests/support/steady_time.h"

namespace batchq {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kInterval{500};
constexpr std::uint32_t kLiveness = 3;  // a window of 1,500 ms

// Pings every interval from `from` (inclusive) to `to` (exclusive), none answered.
void PingUnanswered(BrokerLiveness& liveness, milliseconds from, milliseconds to) {
  for (milliseconds t = from; t < to; t += kInterval) liveness.OnPingSent();
}

TEST(BrokerLivenessTest, IsNotAliveBeforeTheFirstStatus) {
  BrokerLiveness liveness(kInterval, kLiveness, SteadyAt(milliseconds(0)));
  EXPECT_FALSE(liveness.Alive(SteadyAt(milliseconds(0))));
  EXPECT_FALSE(liveness.Silent(SteadyAt(milliseconds(0))));
  liveness.OnPingSent();
  liveness.OnStatus(SteadyAt(milliseconds(2)));
  EXPECT_TRUE(liveness.Alive(SteadyAt(milliseconds(2))));
}

TEST(BrokerLivenessTest, ABrokerThatAnswersEveryPingStaysAlive) {
  BrokerLiveness liveness(kInterval, kLiveness, SteadyAt(milliseconds(0)));
  for (milliseconds t{0}; t < milliseconds(10'000); t += kInterval) {
    liveness.OnPingSent();
    liveness.OnStatus(SteadyAt(t + milliseconds(1)));
    EXPECT_TRUE(liveness.Alive(SteadyAt(t + kInterval))) << t.count();
    EXPECT_FALSE(liveness.Silent(SteadyAt(t + kInterval))) << t.count();
  }
}

TEST(BrokerLivenessTest, ABrokerIsGoneAfterLivenessUnansweredPingsOverTheWindow) {
  BrokerLiveness liveness(kInterval, kLiveness, SteadyAt(milliseconds(0)));
  liveness.OnPingSent();
  liveness.OnStatus(SteadyAt(milliseconds(1)));
  PingUnanswered(liveness, milliseconds(500), milliseconds(1500));  // two pings
  EXPECT_TRUE(liveness.Alive(SteadyAt(milliseconds(1500))));
  EXPECT_FALSE(liveness.Silent(SteadyAt(milliseconds(1500))));
  liveness.OnPingSent();  // the third, at 1,500 ms
  EXPECT_FALSE(liveness.Alive(SteadyAt(milliseconds(1502))));
  EXPECT_FALSE(liveness.Silent(SteadyAt(milliseconds(1500))));  // the window has not passed
  EXPECT_TRUE(liveness.Silent(SteadyAt(milliseconds(1502))));
}

TEST(BrokerLivenessTest, APauseOfTheGatewayIsNotTheBrokersSilence) {
  BrokerLiveness liveness(kInterval, kLiveness, SteadyAt(milliseconds(0)));
  liveness.OnPingSent();
  liveness.OnStatus(SteadyAt(milliseconds(1)));
  // The whole process stood still for 5 s: no ping went out, so none was missed.
  EXPECT_TRUE(liveness.Alive(SteadyAt(milliseconds(5000))));
  EXPECT_FALSE(liveness.Silent(SteadyAt(milliseconds(5000))));
  // Back, it pings; the broker answers.
  liveness.OnPingSent();
  liveness.OnStatus(SteadyAt(milliseconds(5003)));
  EXPECT_TRUE(liveness.Alive(SteadyAt(milliseconds(5003))));
}

TEST(BrokerLivenessTest, AfterAPauseABrokerThatStaysSilentIsStillFound) {
  BrokerLiveness liveness(kInterval, kLiveness, SteadyAt(milliseconds(0)));
  liveness.OnPingSent();
  liveness.OnStatus(SteadyAt(milliseconds(1)));
  PingUnanswered(liveness, milliseconds(5000), milliseconds(6000));  // two pings after a pause
  EXPECT_TRUE(liveness.Alive(SteadyAt(milliseconds(6000))));
  liveness.OnPingSent();  // the third unanswered one
  EXPECT_FALSE(liveness.Alive(SteadyAt(milliseconds(6000))));
  EXPECT_TRUE(liveness.Silent(SteadyAt(milliseconds(6000))));
}

TEST(BrokerLivenessTest, ANewConnectionIsSilentOnlyAfterItsOwnWindow) {
  BrokerLiveness liveness(kInterval, kLiveness, SteadyAt(milliseconds(0)));
  liveness.OnPingSent();
  liveness.OnStatus(SteadyAt(milliseconds(1)));
  PingUnanswered(liveness, milliseconds(500), milliseconds(2000));
  ASSERT_TRUE(liveness.Silent(SteadyAt(milliseconds(2000))));
  liveness.Reset(SteadyAt(milliseconds(2000)));  // moved on to the next broker
  EXPECT_FALSE(liveness.Alive(SteadyAt(milliseconds(2000))));
  EXPECT_FALSE(liveness.Silent(SteadyAt(milliseconds(2000))));
  // Pings sent in quick succession are not a window's worth of silence.
  PingUnanswered(liveness, milliseconds(2050), milliseconds(2200));
  liveness.OnPingSent();
  liveness.OnPingSent();
  EXPECT_FALSE(liveness.Silent(SteadyAt(milliseconds(2200))));
  EXPECT_TRUE(liveness.Silent(SteadyAt(milliseconds(3501))));
}

}  // namespace
}  // namespace batchq
