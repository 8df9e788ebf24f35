// BlockingCalls with calls the test holds open: calls run on the pool's threads, not the
// caller's; past the bound a call is refused at once and never runs; Stop runs what was
// queued and refuses what comes after.
#include "gateway/blocking_calls.h"

#include <atomic>
#include <future>
#include <thread>

#include <gtest/gtest.h>

namespace batchq {
namespace {

TEST(BlockingCallsTest, CallsRunOnThePoolsThreads) {
  BlockingCalls calls({.threads = 2, .max_queued = 16});
  BlockingCalls other({.threads = 1, .max_queued = 16});
  std::promise<std::thread::id> ran_on;
  std::promise<bool> knew_it;
  ASSERT_TRUE(calls.Run([&] {
    ran_on.set_value(std::this_thread::get_id());
    knew_it.set_value(calls.OnItsThread() && !other.OnItsThread());
  }));
  EXPECT_NE(ran_on.get_future().get(), std::this_thread::get_id());
  EXPECT_TRUE(knew_it.get_future().get()) << "a call did not know its pool's thread";
  EXPECT_FALSE(calls.OnItsThread());
}

TEST(BlockingCallsTest, PastTheBoundACallIsRefusedAndNeverRuns) {
  BlockingCalls calls({.threads = 1, .max_queued = 2});
  std::promise<void> entered;
  std::promise<void> gate;
  std::shared_future<void> opened = gate.get_future().share();
  ASSERT_TRUE(calls.Run([&entered, opened] {
    entered.set_value();
    opened.wait();
  }));
  entered.get_future().wait();  // the one thread is busy; the next calls queue
  std::atomic<int> ran{0};
  EXPECT_TRUE(calls.Run([&ran] { ++ran; }));
  EXPECT_TRUE(calls.Run([&ran] { ++ran; }));
  EXPECT_FALSE(calls.Run([&ran] { ran += 100; }));
  gate.set_value();
  calls.Stop();
  EXPECT_EQ(ran.load(), 2);
  EXPECT_EQ(calls.counts().ran, 3u);
  EXPECT_EQ(calls.counts().refused, 1u);
}

TEST(BlockingCallsTest, StopRunsWhatWasQueuedAndRefusesLaterCalls) {
  BlockingCalls calls({.threads = 1, .max_queued = 64});
  std::promise<void> gate;
  std::shared_future<void> opened = gate.get_future().share();
  std::atomic<int> ran{0};
  ASSERT_TRUE(calls.Run([opened] { opened.wait(); }));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(calls.Run([&ran] { ++ran; }));
  std::thread opener([&gate] { gate.set_value(); });
  calls.Stop();
  opener.join();
  EXPECT_EQ(ran.load(), 10);
  EXPECT_FALSE(calls.Run([&ran] { ++ran; }));
  EXPECT_EQ(ran.load(), 10);
}

}  // namespace
}  // namespace batchq
