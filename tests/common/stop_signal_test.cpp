// StopSignals in a child process each (death tests), since its handlers and flag are the
// process's: a stop asked for during the start waits, pending, for Listen(), and only the
// listening thread takes it afterwards.
#include "common/stop_signal.h"

#include <pthread.h>
#include <unistd.h>

#include <csignal>
#include <thread>

#include <gtest/gtest.h>

namespace batchq {
namespace {

bool Blocked(int signal) {
  sigset_t now;
  pthread_sigmask(SIG_BLOCK, nullptr, &now);
  return sigismember(&now, signal) == 1;
}

// Exit codes say which expectation failed, in the child.
enum : int { kOk = 0, kTakenDuringStart = 2, kNotTakenAtListen = 3, kThreadTakesIt = 4 };

TEST(StopSignalsTest, ASignalDuringTheStartIsTakenAtListenNotBefore) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        StopSignals signals;
        raise(SIGTERM);
        if (signals.stopped()) _exit(kTakenDuringStart);
        const auto& stop = signals.Listen();
        _exit(stop.load() ? kOk : kNotTakenAtListen);
      },
      testing::ExitedWithCode(kOk), "");
}

TEST(StopSignalsTest, AThreadStartedDuringTheStartKeepsThemBlockedAndTheListenerTakesThem) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        StopSignals signals;
        bool thread_blocks = false;
        std::thread started([&] { thread_blocks = Blocked(SIGTERM) && Blocked(SIGINT); });
        started.join();
        if (!thread_blocks) _exit(kThreadTakesIt);
        const auto& stop = signals.Listen();
        if (Blocked(SIGTERM) || Blocked(SIGINT)) _exit(kNotTakenAtListen);
        // Sent to the process: the listener is the one thread that can take it, and a
        // thread that sends a signal it does not block takes it before kill() returns.
        kill(getpid(), SIGINT);
        _exit(stop.load() ? kOk : kNotTakenAtListen);
      },
      testing::ExitedWithCode(kOk), "");
}

}  // namespace
}  // namespace batchq
