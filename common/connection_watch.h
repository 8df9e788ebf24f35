#pragma once
// Tells a client socket's owner at once when its connection drops (the peer process
// died and the kernel closed its TCP connection) or a connection attempt fails (nothing
// listens there), through ZeroMQ's socket monitor, so it need not wait out heartbeats
// to try another broker. A peer that is alive but frozen keeps its connection:
// heartbeats still cover that. Not thread-safe: use it on
// the thread that owns the watched socket.

#include <atomic>
#include <string>

#include <zmq.hpp>

namespace batchq {

class ConnectionWatch {
 public:
  // Watches `socket` (which must outlive this object) from now on.
  ConnectionWatch(zmq::context_t& context, zmq::socket_t& socket);
  ~ConnectionWatch();
  ConnectionWatch(const ConnectionWatch&) = delete;
  ConnectionWatch& operator=(const ConnectionWatch&) = delete;

  // For zmq::poll: readable when events arrived.
  zmq::socket_t& events() { return events_; }
  // Reads the events that arrived; true when a connection was dropped or refused.
  bool TakeLost();

 private:
  zmq::socket_t& watched_;
  zmq::socket_t events_;
};

}  // namespace batchq
