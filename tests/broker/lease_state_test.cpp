// The lease decisions alone, with the time passed in: when a broker is active, when it
// renews, when it must step down by its own clock, and when a standby takes over.
#include <gtest/gtest.h>

#include "broker/lease_state.h"

namespace batchq {
namespace {

using namespace std::chrono_literals;
using Change = LeaseState::Change;

constexpr auto kLease = 3000ms;
const MonotonicTime t0{std::chrono::hours(1)};

TEST(LeaseStateTest, AStandbyTakesTheLeaseAndRenewsItEveryThird) {
  LeaseState lease({kLease});
  EXPECT_FALSE(lease.active());
  EXPECT_LE(lease.next_call_at(), t0) << "a new broker tries at once";
  EXPECT_EQ(lease.OnAnswer(7, t0, t0 + 2ms), Change::kBecameActive);
  EXPECT_TRUE(lease.active());
  EXPECT_EQ(lease.epoch(), 7u);
  EXPECT_EQ(lease.next_call_at(), t0 + 1000ms);
  // Held from when the call was sent, less a tenth for clock drift.
  EXPECT_EQ(lease.held_until(), t0 + 2700ms);
  EXPECT_EQ(lease.OnAnswer(7, t0 + 1000ms, t0 + 1001ms), Change::kNone);
  EXPECT_EQ(lease.held_until(), t0 + 3700ms);
  EXPECT_EQ(lease.Check(t0 + 3699ms), Change::kNone);
}

TEST(LeaseStateTest, ARefusedTakeKeepsItStandingByAndTryingOftenEnough) {
  LeaseState lease({kLease});
  EXPECT_EQ(lease.OnAnswer(0, t0, t0 + 1ms), Change::kNone);
  EXPECT_FALSE(lease.active());
  EXPECT_EQ(lease.epoch(), 0u);
  // A standby notices a lapsed lease within a tenth of it.
  EXPECT_EQ(lease.next_call_at(), t0 + 1ms + 300ms);
  EXPECT_EQ(lease.OnNoAnswer(t0 + 400ms), Change::kNone);
  EXPECT_EQ(lease.next_call_at(), t0 + 700ms);
}

TEST(LeaseStateTest, ARefusedRenewalDeposesAtOnce) {
  LeaseState lease({kLease});
  ASSERT_EQ(lease.OnAnswer(3, t0, t0), Change::kBecameActive);
  EXPECT_EQ(lease.OnAnswer(0, t0 + 1000ms, t0 + 1001ms), Change::kDeposed);
  EXPECT_FALSE(lease.active());
  EXPECT_LE(lease.next_call_at(), t0 + 1001ms) << "it may take the lease again at once";
}

TEST(LeaseStateTest, WithoutRedisTheLeaseHoldsUntilItLapsesByOurClock) {
  LeaseState lease({kLease});
  ASSERT_EQ(lease.OnAnswer(3, t0, t0), Change::kBecameActive);
  EXPECT_EQ(lease.OnNoAnswer(t0 + 1000ms), Change::kNone);
  EXPECT_TRUE(lease.active());
  EXPECT_EQ(lease.OnNoAnswer(t0 + 2000ms), Change::kNone);
  EXPECT_EQ(lease.OnNoAnswer(t0 + 2700ms), Change::kDeposed);
  EXPECT_FALSE(lease.active());
}

TEST(LeaseStateTest, AFrozenBrokerStepsDownWhenItWakesPastItsLease) {
  LeaseState lease({kLease});
  ASSERT_EQ(lease.OnAnswer(3, t0, t0), Change::kBecameActive);
  // SIGSTOP for ten seconds: nothing was called meanwhile; the first look at the clock
  // deposes it, before it acts on anything.
  EXPECT_EQ(lease.Check(t0 + 10s), Change::kDeposed);
  EXPECT_EQ(lease.epoch(), 0u);
  EXPECT_EQ(lease.Check(t0 + 10s), Change::kNone) << "deposed once";
}

TEST(LeaseStateTest, AGrantThatArrivesTooLateIsNotActedOn) {
  LeaseState lease({kLease});
  // The answer took longer than the lease (the process froze between send and reply).
  EXPECT_EQ(lease.OnAnswer(5, t0, t0 + 5s), Change::kDeposed);
  EXPECT_FALSE(lease.active());
}

TEST(LeaseStateTest, AnotherEpochInARenewalAnswerDeposes) {
  LeaseState lease({kLease});
  ASSERT_EQ(lease.OnAnswer(3, t0, t0), Change::kBecameActive);
  EXPECT_EQ(lease.OnAnswer(4, t0 + 1s, t0 + 1s), Change::kDeposed);
}

// A simulation of two brokers sharing one lease, stepping time in 10 ms ticks with one
// frozen for a while: at no instant may both believe they are active, and every time
// one is active its epoch is the newest drawn.
TEST(LeaseStateTest, TwoBrokersAreNeverActiveAtOnceInASimulation) {
  struct Redis {
    std::uint64_t epoch = 0;
    int holder = -1;
    MonotonicTime expires{};
  } redis;
  LeaseState lease[2] = {LeaseState({kLease}), LeaseState({kLease})};
  auto call = [&](int who, MonotonicTime now) {
    if (redis.holder != -1 && now >= redis.expires) redis.holder = -1;
    if (lease[who].active()) {
      const bool ours = redis.holder == who && redis.epoch == lease[who].epoch();
      if (ours) redis.expires = now + kLease;
      lease[who].OnAnswer(ours ? lease[who].epoch() : 0, now, now);
    } else if (redis.holder == -1 || redis.holder == who) {
      redis.holder = who;
      redis.expires = now + kLease;
      lease[who].OnAnswer(++redis.epoch, now, now);
    } else {
      lease[who].OnAnswer(0, now, now);
    }
  };
  int takeovers = 0;
  bool was_active[2] = {false, false};
  for (auto now = t0; now < t0 + 120s; now += 10ms) {
    // Broker 0 is frozen from 20 s to 30 s and from 60 s to 61 s: it calls nothing and
    // looks at no clock while frozen.
    const auto since = now - t0;
    const bool frozen = (since >= 20s && since < 30s) || (since >= 60s && since < 61s);
    for (int who = 0; who < 2; ++who) {
      if (who == 0 && frozen) continue;
      lease[who].Check(now);
      if (now >= lease[who].next_call_at()) call(who, now);
      if (lease[who].active() && !was_active[who]) ++takeovers;
      was_active[who] = lease[who].active();
    }
    const bool active0 = lease[0].active() && !frozen && lease[0].held_until() > now;
    const bool active1 = lease[1].active() && lease[1].held_until() > now;
    ASSERT_FALSE(active0 && active1) << "both active at " << since.count();
    for (int who = 0; who < 2; ++who) {
      if (lease[who].active() && !(who == 0 && frozen)) {
        ASSERT_EQ(lease[who].epoch(), redis.epoch) << "a stale epoch acted at " << since.count();
      }
    }
  }
  EXPECT_GE(takeovers, 2) << "the long freeze handed the lease over";
}

}  // namespace
}  // namespace batchq
