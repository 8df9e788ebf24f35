#pragma once
// Wakes a thread blocked in zmq::poll from any other thread, through an eventfd
// that the poll loop watches as a plain file descriptor. Notify() is thread-safe and
// writes the eventfd only once between two Drain()s: a burst of work handed over before
// the poller wakes costs one system call, not one each.

#include <atomic>

namespace batchq {

class WakeSignal {
 public:
  WakeSignal();
  ~WakeSignal();
  WakeSignal(const WakeSignal&) = delete;
  WakeSignal& operator=(const WakeSignal&) = delete;

  void Notify();
  // Clears pending notifications; call from the polling thread after it wakes.
  void Drain();
  int fd() const { return fd_; }

 private:
  int fd_;
  std::atomic<bool> armed_{false};  // the fd was written since the last Drain()
};

}  // namespace batchq
