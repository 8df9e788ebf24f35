#pragma once
// Whether the broker a link talks to is alive, judged from its status replies and from
// the pings the link sent. The broker counts as gone only when `liveness` pings in a row
// went unanswered and the window (ping interval × liveness) has passed since it was last
// heard from, or since the connection began. Counting the pings, not only the time, keeps
// a pause of the gateway itself (a frozen VM, a stopped process, a starved link thread)
// from counting as the broker's silence: a ping that was never sent was never missed.
// Time is an argument. Thread-safe: the link's thread calls the On*() and Reset(), any
// thread may call Alive().

#include <atomic>
#include <chrono>
#include <cstdint>

namespace batchq {

class BrokerLiveness {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  BrokerLiveness(std::chrono::milliseconds ping_interval, std::uint32_t liveness, TimePoint now);

  // A new connection at `now`: nothing heard from it yet, nothing missed.
  void Reset(TimePoint now);
  void OnPingSent();
  // An active broker's status reply: it answers every ping sent before it.
  void OnStatus(TimePoint now);

  // True once a status came since Reset() and the broker is not silent.
  bool Alive(TimePoint now) const;
  // True when the link should give up on this broker and move on.
  bool Silent(TimePoint now) const;

 private:
  const std::chrono::nanoseconds window_;
  const std::uint32_t liveness_;
  std::atomic<bool> answered_{false};  // a status came since Reset()
  // Steady-clock nanoseconds of the last status or Reset(), whichever came later.
  std::atomic<std::int64_t> heard_at_ns_{0};
  std::atomic<std::uint32_t> unanswered_pings_{0};
};

}  // namespace batchq
