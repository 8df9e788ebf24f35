#pragma once
// Whether this broker is the active one, decided from the answers to its lease calls
// and the time, with no Redis here (BrokerLease makes the calls; the shell passes
// their answers and the steady time in). The lease is held until `lease` after the
// call that last granted or renewed it was sent, less a margin for clock-rate drift:
// Redis starts the expiry when the call arrives, which is no earlier. Past that, the
// broker steps down by itself, even when no call could say so (Redis away, or the
// process frozen), and the epoch fences whatever it still sends. Not thread-safe.

#include <chrono>
#include <cstdint>

#include "broker/monotonic_time.h"

namespace batchq {

class LeaseState {
 public:
  struct Options {
    std::chrono::milliseconds lease{3000};
  };
  enum class Change { kNone, kBecameActive, kDeposed };

  explicit LeaseState(Options options);

  bool active() const { return epoch_ != 0; }
  // The epoch of the lease held; 0 while standing by.
  std::uint64_t epoch() const { return epoch_; }
  // When to call Redis next: renew while active (a third of the lease after the last
  // grant), try to take the lease while standing by.
  MonotonicTime next_call_at() const { return next_call_at_; }
  // Until when the held lease is certainly this broker's.
  MonotonicTime held_until() const { return held_until_; }

  // A call sent at `sent` was answered at `now`: the lease of `epoch` is ours (granted
  // or renewed), or 0: another broker holds it (or ours was lost).
  Change OnAnswer(std::uint64_t epoch, MonotonicTime sent, MonotonicTime now);
  // A call got no answer (Redis away): the lease holds until it lapses by our clock.
  Change OnNoAnswer(MonotonicTime now);
  // Steps down when the lease lapsed by our clock; call before acting on anything.
  Change Check(MonotonicTime now);

 private:
  Change StepDown(MonotonicTime now);

  const Options options_;
  std::uint64_t epoch_ = 0;
  MonotonicTime held_until_{};
  MonotonicTime next_call_at_{};
};

}  // namespace batchq
