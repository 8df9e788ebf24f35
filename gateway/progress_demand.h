#pragma once
// Whether this gateway should hear the progress channel ({prefix}progress: jobs queued
// and started, job_change.h), which only its event streams read. A gateway with no
// stream open does not subscribe to it, so Redis sends it only the endings, on
// {prefix}done: two messages per job fewer to write, wake for and parse.
//
// A stream, before it watches anything, calls Await: it returns once the listener's
// subscription is confirmed, so the stream misses no change from then on. The listener
// asks Wanted on each turn: true while streams are open, and for `linger` after the last
// one closed (or the last Await), so that streams opened one after another do not
// subscribe and unsubscribe each time. The linger must also outlast the step from a
// stream's Await to its watching in the hub (the gateway takes at least 1 s): an Await's
// demand is only the linger's.
//
// Thread-safe. Time is an argument; only Await waits (on the steady clock).

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>

namespace batchq {

class ProgressDemand {
 public:
  using Clock = std::chrono::steady_clock;
  // `wake_listener` is called (from Await's thread) so that the listener subscribes
  // without waiting for its next turn.
  ProgressDemand(std::chrono::milliseconds linger, std::function<void()> wake_listener);

  enum class Answer {
    kFlowing,  // the subscription is confirmed: a stream started now misses nothing
    kNotYet,   // not within the timeout (Redis away): the stream learns of the gap later
    kRefused,  // Redis refuses the channel: waiting longer would not help
  };
  // From a thread that may block (never an I/O thread): records demand at `now`, wakes
  // the listener, and waits up to `timeout` for the subscription or its refusal.
  Answer Await(Clock::time_point now, std::chrono::milliseconds timeout);

  // From the listener: whether it should be subscribed, with `streams` open now. When
  // not, it no longer counts as flowing.
  bool Wanted(Clock::time_point now, std::size_t streams);
  // From the listener: every SUBSCRIBE it sent is confirmed (true), or it unsubscribes
  // or lost its connection (false).
  void Flowing(bool flowing);
  bool flowing() const;
  // From the listener: Redis refused the subscription (an ACL file from before the
  // channel), or, with false, a new connection may be granted it. While refused, Await
  // answers kRefused at once, and so does any Await waiting now: the stream starts
  // without the channel instead of waiting its whole timeout for a confirmation that
  // will not come. A confirmed subscription clears it too.
  void Refused(bool refused);

 private:
  const std::chrono::milliseconds linger_;
  const std::function<void()> wake_listener_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<Clock::time_point> last_wanted_;
  bool flowing_ = false;
  bool refused_ = false;
};

}  // namespace batchq
