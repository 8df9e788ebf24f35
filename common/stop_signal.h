#pragma once
// SIGINT/SIGTERM handling for the broker's and the worker's mains: the handler only sets a
// flag that their event loops poll.
//
// The signals are held (blocked, so they stay pending) from construction until Listen():
// a stop asked for while the process builds its objects interrupts no start-up call (a
// ZeroMQ bind or connect would fail with EINTR) and is taken, at once, by Listen(). Every
// thread started meanwhile keeps them blocked for good, so afterwards only the thread that
// called Listen() takes them: the one that runs the loop and polls the flag.

#include <atomic>

namespace batchq {

class StopSignals {
 public:
  // Installs the handlers and blocks the signals in the calling thread. Once per process,
  // in main, before any thread is started; SIGPIPE is ignored from here on.
  StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // Unblocks the signals in the calling thread, so one that came during the start sets
  // the flag before this returns. The flag, which stays valid for the process's life.
  const std::atomic<bool>& Listen();

  // True once a signal has been taken.
  bool stopped() const;
};

}  // namespace batchq
