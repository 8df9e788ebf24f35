#pragma once
// Sending and receiving wire messages on ZeroMQ sockets. Sockets are not
// thread-safe: call these only from the thread that owns the socket.

#include <cerrno>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <zmq.hpp>

#include "common/error.h"
#include "common/wire.h"

namespace batchq {

// Finite linger, bounded queues and a frame size cap on every socket we open.
void ApplySocketDefaults(zmq::socket_t& socket);

// Messages a receive loop takes from one socket per wake-up before it turns to its other
// duties (heartbeats, dispatch, the other socket): bounded work keeps them timely under
// a flood. Every process's loop uses this one budget.
inline constexpr int kMaxMessagesPerWake = 512;

// Queues `message` without blocking (a signal's interruption is retried, so a message is
// queued whole or not at all). `routing` is the peer's routing id on a ROUTER
// socket and empty on a DEALER. Returns false when it could not be queued (no
// connected peer, queue full, or an unknown routing id with ROUTER_MANDATORY).
bool SendWire(zmq::socket_t& socket, std::string_view routing, const wire::Message& message);

struct ReceivedWire {
  std::string routing;  // empty on a DEALER
  Result<wire::Message> message;
  // For a message that failed to decode: its sender's ZAP User-Id (the name its key is
  // listed under), so a log line can name it; empty when unknown.
  std::string peer;
};

// Reads one whole multipart message without blocking; nullopt when none is waiting. A
// signal's interruption is retried, so no frame is lost to it.
// A message with the wrong frame count decodes to a "bad_frame" error.
std::optional<ReceivedWire> ReceiveWire(zmq::socket_t& socket, bool routed);

// Makes a ZeroMQ call again for as long as a signal interrupts it (EINTR), and returns
// what it returns. libzmq reads a socket's command mailbox on sends and receives with a
// poll() that a signal interrupts even when nothing would block; such a call did nothing,
// and the stop handlers only set a flag that the caller's loop reads afterwards. Without
// it, a SIGTERM could end a loop with an exception, or lose a frame of a message.
template <typename Call>
auto RetryOnSignal(Call&& call) -> decltype(call()) {
  for (;;) {
    try {
      return call();
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) throw;
    }
  }
}

// zmq::poll that treats a signal's interruption as a wake-up with nothing ready, so
// loops get to check their stop flag instead of dying on EINTR.
void PollOrSignal(zmq::pollitem_t* items, std::size_t count, std::chrono::milliseconds timeout);

// The endpoint a socket really bound to, e.g. after binding "tcp://127.0.0.1:*".
std::string LastEndpoint(zmq::socket_t& socket);

}  // namespace batchq
