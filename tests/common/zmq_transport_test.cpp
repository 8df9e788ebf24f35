// SendWire and ReceiveWire on a thread that takes signals, as the broker's and the
// worker's loop threads do (stop_signal.h). libzmq checks a socket's command mailbox on
// sends and receives with a poll() that a signal interrupts even when nothing blocks
// (EINTR); a SIGTERM landing there once made a worker exit 1 instead of stopping.
#include "common/zmq_transport.h"

#include <sys/time.h>

#include <atomic>
#include <csignal>
#include <variant>

#include <gtest/gtest.h>

namespace batchq {
namespace {

std::atomic<long> g_alarms{0};
extern "C" void CountAlarm(int) { g_alarms.fetch_add(1); }

// SIGALRM every `interval` for this object's life, to the process: its ZeroMQ threads
// block every signal, so the test's thread takes them. No SA_RESTART, as the stop
// signals' handler.
class AlarmStorm {
 public:
  explicit AlarmStorm(std::chrono::microseconds interval) {
    struct sigaction action {};
    action.sa_handler = CountAlarm;
    sigemptyset(&action.sa_mask);
    sigaction(SIGALRM, &action, &previous_);
    const timeval tick{0, static_cast<suseconds_t>(interval.count())};
    const itimerval timer{tick, tick};
    setitimer(ITIMER_REAL, &timer, nullptr);
  }
  ~AlarmStorm() {
    const itimerval off{};
    setitimer(ITIMER_REAL, &off, nullptr);
    sigaction(SIGALRM, &previous_, nullptr);
  }
  AlarmStorm(const AlarmStorm&) = delete;
  AlarmStorm& operator=(const AlarmStorm&) = delete;

 private:
  struct sigaction previous_ {};
};

// Waits for the next message on `socket` (polls and receives may both be interrupted).
std::optional<ReceivedWire> NextMessage(zmq::socket_t& socket, bool routed) {
  for (int tries = 0; tries < 1000; ++tries) {
    if (auto received = ReceiveWire(socket, routed)) return received;
    zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
    PollOrSignal(&item, 1, std::chrono::milliseconds(10));
  }
  return std::nullopt;
}

TEST(ZmqTransportTest, EveryMessageArrivesWholeAndInOrderWhileSignalsInterruptTheCalls) {
  zmq::context_t context(1);
  zmq::socket_t router(context, zmq::socket_type::router);
  zmq::socket_t dealer(context, zmq::socket_type::dealer);
  ApplySocketDefaults(router);
  ApplySocketDefaults(dealer);
  router.set(zmq::sockopt::router_mandatory, 1);
  dealer.set(zmq::sockopt::routing_id, "peer");
  router.bind("tcp://127.0.0.1:*");
  dealer.connect(LastEndpoint(router));
  // The router learns the dealer's id from its first message.
  ASSERT_TRUE(SendWire(dealer, {}, wire::Heartbeat{-1}));
  const auto hello = NextMessage(router, /*routed=*/true);
  ASSERT_TRUE(hello.has_value());
  ASSERT_EQ(hello->routing, "peer");

  constexpr int kRounds = 400;
  constexpr int kPerRound = 64;
  AlarmStorm storm(std::chrono::microseconds(20));
  for (int round = 0; round < kRounds; ++round) {
    for (int i = 0; i < kPerRound; ++i) {
      const std::int64_t seq = std::int64_t{round} * kPerRound + i;
      // Each way: the dealer's sends and the router's receives, then back.
      ASSERT_TRUE(SendWire(dealer, {}, wire::Heartbeat{seq})) << "dealer send " << seq;
      ASSERT_TRUE(SendWire(router, "peer", wire::Heartbeat{seq})) << "router send " << seq;
    }
    for (int i = 0; i < kPerRound; ++i) {
      const std::int64_t seq = std::int64_t{round} * kPerRound + i;
      for (auto [socket, routed] : {std::pair{&router, true}, std::pair{&dealer, false}}) {
        const auto received = NextMessage(*socket, routed);
        ASSERT_TRUE(received.has_value()) << "nothing came for " << seq;
        ASSERT_TRUE(received->message.has_value()) << received->message.error().message;
        const auto* beat = std::get_if<wire::Heartbeat>(&*received->message);
        ASSERT_NE(beat, nullptr);
        EXPECT_EQ(beat->sent_us, seq);
        if (routed) {
          EXPECT_EQ(received->routing, "peer");
        }
      }
    }
  }
  // The storm really interrupted the loop (not how often it hit a poll: that is luck).
  EXPECT_GT(g_alarms.load(), 0);
}

}  // namespace
}  // namespace batchq
