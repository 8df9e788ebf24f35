#pragma once
// When the broker link may leave its broker for the next endpoint. Each move makes a new
// socket, and a host with no broker refuses a connection within microseconds: moving on
// at the speed of those refusals made thousands of sockets a second, until ZeroMQ ran
// out of them and the gateway died ("Too many open files"). So the endpoints of one
// round are tried at once, one after another (a dead active broker's standby is asked
// without delay), but after each full round without an active broker's answer the next
// move waits: `first_pause`, then twice as long each round, up to `max_pause`. While it
// waits, the socket it has keeps reconnecting on its own, so a broker that comes back
// there is found without a move. An active broker's answer starts over.
//
// Time is an argument. Not thread-safe: the link's thread owns it.

#include <chrono>
#include <cstddef>

namespace batchq {

class BrokerMovePacing {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // `endpoints` is at least 1.
  BrokerMovePacing(std::size_t endpoints, std::chrono::milliseconds first_pause,
                   std::chrono::milliseconds max_pause);

  bool MayMove(TimePoint now) const { return now >= next_allowed_; }
  // The earliest time of the next move.
  TimePoint next_allowed() const { return next_allowed_; }
  // The link moved on at `now`.
  void OnMoved(TimePoint now);
  // An active broker answered.
  void OnAnswered();

 private:
  const std::size_t endpoints_;
  const std::chrono::milliseconds first_pause_;
  const std::chrono::milliseconds max_pause_;
  std::chrono::milliseconds pause_;
  std::size_t moved_in_a_row_ = 0;
  TimePoint next_allowed_ = TimePoint::min();
};

}  // namespace batchq
