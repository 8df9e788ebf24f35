#include "common/zmq_transport.h"

#include <vector>

#include <fmt/format.h>

namespace batchq {

void ApplySocketDefaults(zmq::socket_t& socket) {
  socket.set(zmq::sockopt::linger, 200);
  socket.set(zmq::sockopt::sndhwm, 100'000);
  socket.set(zmq::sockopt::rcvhwm, 100'000);
  socket.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(wire::kMaxBodyBytes + 1024));
}

bool SendWire(zmq::socket_t& socket, std::string_view routing, const wire::Message& message) {
  const wire::Frames frames = wire::Encode(message);
  try {
    const auto send = [&socket](std::string_view frame, zmq::send_flags flags) {
      return RetryOnSignal([&] { return socket.send(zmq::buffer(frame), flags); }).has_value();
    };
    constexpr auto more = zmq::send_flags::sndmore | zmq::send_flags::dontwait;
    if (!routing.empty() && !send(routing, more)) return false;
    if (!send(frames.header, more)) return false;
    return send(frames.body, zmq::send_flags::dontwait);
  } catch (const zmq::error_t&) {
    // EHOSTUNREACH from ROUTER_MANDATORY: the peer is gone.
    return false;
  }
}

namespace {

std::string PeerUserId(zmq::message_t& part) {
  // Unset without ZAP (plain loopback sockets): libzmq then fails the lookup.
  const char* value = zmq_msg_gets(part.handle(), "User-Id");
  return value == nullptr ? std::string() : std::string(value);
}

}  // namespace

std::optional<ReceivedWire> ReceiveWire(zmq::socket_t& socket, bool routed) {
  std::vector<zmq::message_t> parts;
  // zmq::recv_multipart, but a signal's interruption does not drop the frames read so far.
  do {
    zmq::message_t part;
    if (!RetryOnSignal([&] { return socket.recv(part, zmq::recv_flags::dontwait); })) break;
    parts.push_back(std::move(part));
  } while (parts.back().more());
  if (parts.empty()) return std::nullopt;
  ReceivedWire out{{}, Fail(ErrorCode::kBadFrame, "empty message"), {}};
  std::size_t next = 0;
  if (routed) out.routing = parts[next++].to_string();
  if (parts.size() - next != 2) {
    out.peer = PeerUserId(parts.back());
    out.message =
        Fail(ErrorCode::kBadFrame,
             fmt::format("Expected 2 frames after the routing id, got {}.", parts.size() - next));
    return out;
  }
  out.message = wire::Decode(parts[next].to_string_view(), parts[next + 1].to_string_view());
  if (!out.message) out.peer = PeerUserId(parts.back());
  return out;
}

void PollOrSignal(zmq::pollitem_t* items, std::size_t count, std::chrono::milliseconds timeout) {
  try {
    zmq::poll(items, count, timeout);
  } catch (const zmq::error_t& e) {
    if (e.num() != EINTR) throw;
    for (std::size_t i = 0; i < count; ++i) items[i].revents = 0;
  }
}

std::string LastEndpoint(zmq::socket_t& socket) { return socket.get(zmq::sockopt::last_endpoint); }

}  // namespace batchq
