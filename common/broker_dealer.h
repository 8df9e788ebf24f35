#pragma once
// A client's DEALER to one broker of a list (common/broker_endpoints.h), with a
// ConnectionWatch on it. MoveOn() drops it for a fresh socket to the next endpoint, so a
// gateway or worker follows the active broker of a failover pair; with one endpoint it
// reconnects to the same one. Not thread-safe: the thread that owns it uses it.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "common/connection_watch.h"
#include "common/curve_socket.h"

namespace batchq {

class BrokerDealer {
 public:
  struct Options {
    std::string endpoints;                 // one, or several comma-separated
    std::optional<CurveClientKeys> curve;  // nullopt: plain (loopback only, checked in main)
    // Sends fail at once without a live connection, instead of queueing for a broker
    // that may never come (the gateway, which answers its clients now).
    bool immediate = false;
  };

  // Connects to the first endpoint; throws std::runtime_error when the list is empty.
  // `context` must outlive this object.
  BrokerDealer(zmq::context_t& context, Options options);

  zmq::socket_t& socket() { return *socket_; }
  ConnectionWatch& watch() { return *watch_; }
  const std::string& endpoint() const { return endpoints_[current_]; }
  std::size_t size() const { return endpoints_.size(); }
  // A fresh socket to the next endpoint; what was queued on the old one is dropped.
  void MoveOn();

 private:
  void Connect();

  zmq::context_t& context_;
  const Options options_;
  const std::vector<std::string> endpoints_;
  std::size_t current_ = 0;
  std::optional<zmq::socket_t> socket_;
  std::optional<ConnectionWatch> watch_;  // of socket_; declared after it, gone before it
};

}  // namespace batchq
