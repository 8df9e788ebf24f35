#include "common/wake_signal.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <system_error>

namespace batchq {

WakeSignal::WakeSignal() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
}

WakeSignal::~WakeSignal() { close(fd_); }

void WakeSignal::Notify() {
  if (armed_.exchange(true)) return;
  const std::uint64_t one = 1;
  // A full counter still leaves the fd readable, which is all the poller needs.
  [[maybe_unused]] const auto written = write(fd_, &one, sizeof one);
}

void WakeSignal::Drain() {
  std::uint64_t count = 0;
  [[maybe_unused]] const auto read_bytes = read(fd_, &count, sizeof count);
  // Disarmed after the read, never before: a Notify() between the two would have its
  // write consumed and leave the signal armed with nothing to wake the poller. A Notify()
  // that still finds it armed handed its work over before this store, so the poller,
  // taking its work after Drain(), sees it.
  armed_.store(false);
}

}  // namespace batchq
