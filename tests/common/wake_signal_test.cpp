// WakeSignal between two real threads: a burst of Notify() costs one write, and no
// hand-over is ever left without a wake-up.
#include "common/wake_signal.h"

#include <poll.h>

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

namespace batchq {
namespace {

bool Readable(const WakeSignal& signal, int timeout_ms) {
  pollfd watched{signal.fd(), POLLIN, 0};
  return poll(&watched, 1, timeout_ms) == 1;
}

TEST(WakeSignalTest, ABurstOfNotifiesWakesOnceAndANotifyAfterADrainWakesAgain) {
  WakeSignal signal;
  EXPECT_FALSE(Readable(signal, 0));
  signal.Notify();
  signal.Notify();
  EXPECT_TRUE(Readable(signal, 0));
  signal.Drain();
  EXPECT_FALSE(Readable(signal, 0)) << "one Drain() takes the whole burst";
  signal.Notify();
  EXPECT_TRUE(Readable(signal, 0));
}

TEST(WakeSignalTest, NoHandOverIsLeftWithoutAWakeUp) {
  // The producer hands items over as fast as it can while the consumer drains: if a
  // Notify() ever went unwritten with nothing pending, the consumer's poll would wait
  // out its whole 5 s with work handed over.
  WakeSignal signal;
  constexpr int kItems = 300'000;
  std::atomic<int> handed{0};
  std::thread producer([&] {
    for (int i = 0; i < kItems; ++i) {
      handed.fetch_add(1);
      signal.Notify();
    }
  });
  int taken = 0;
  bool stranded = false;
  while (taken < kItems) {
    if (!Readable(signal, 5000)) {
      stranded = true;
      break;
    }
    signal.Drain();
    taken = handed.load();  // takes every item handed over before the Drain()
  }
  producer.join();
  EXPECT_FALSE(stranded) << "items handed over but never woken for: " << handed.load() - taken;
}

}  // namespace
}  // namespace batchq
