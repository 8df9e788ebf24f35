#include "common/connection_watch.h"

#include <cstdint>
#include <cstring>

#include <fmt/format.h>

#include "common/zmq_transport.h"

namespace batchq {
namespace {

// Each watch needs an inproc address of its own within the process.
std::atomic<std::uint64_t> next_watch{0};

}  // namespace

ConnectionWatch::ConnectionWatch(zmq::context_t& context, zmq::socket_t& socket)
    : watched_(socket), events_(context, zmq::socket_type::pair) {
  const std::string address = fmt::format("inproc://batchq-watch-{}", next_watch.fetch_add(1));
  if (zmq_socket_monitor(watched_.handle(), address.c_str(),
                         ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CONNECT_RETRIED) != 0) {
    throw zmq::error_t();
  }
  events_.set(zmq::sockopt::linger, 0);
  events_.connect(address);
}

ConnectionWatch::~ConnectionWatch() {
  zmq_socket_monitor(watched_.handle(), nullptr, 0);  // stops the monitor
}

bool ConnectionWatch::TakeLost() {
  bool lost = false;
  for (;;) {
    zmq::message_t event;
    if (!RetryOnSignal([&] { return events_.recv(event, zmq::recv_flags::dontwait); })) {
      return lost;
    }
    // Frame 1: the event number (16 bits) and a value (32 bits); frame 2: the endpoint.
    if (event.size() >= sizeof(std::uint16_t)) {
      std::uint16_t number = 0;
      std::memcpy(&number, event.data(), sizeof(number));
      if (number == ZMQ_EVENT_DISCONNECTED || number == ZMQ_EVENT_CONNECT_RETRIED) lost = true;
    }
    while (event.more()) {
      if (!RetryOnSignal([&] { return events_.recv(event, zmq::recv_flags::dontwait); })) break;
    }
  }
}

}  // namespace batchq
