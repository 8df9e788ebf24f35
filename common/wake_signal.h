#pragma once
// Wakes a thread blocked in zmq::poll from any other thread, through an eventfd
// that the poll loop watches as a plain file descriptor. Notify() is thread-safe.

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
};

}  // namespace batchq
