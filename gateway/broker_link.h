#pragma once
// The gateway's one connection to the active broker: a DEALER socket owned by a
// private thread. Any thread may call Submit(); replies and timeouts come back through
// the callback, which runs on the link's thread and must only hand work off (post).
// A PING every interval keeps a fresh broker status (types, queues, workers) and
// tells whether the broker is alive and active. Given several endpoints (brokers
// sharing one Redis), the link follows the active one: when the broker it talks to
// says it stands by, stays silent for `liveness` pings (broker_liveness.h), or its host
// closes or refuses the connection, it moves to the next, paced by
// broker_move_pacing.h.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include "common/broker_dealer.h"
#include "common/curve_socket.h"
#include "common/error.h"
#include "common/log_throttle.h"
#include "common/wake_signal.h"
#include "common/wire.h"
#include "gateway/broker_liveness.h"
#include "gateway/broker_move_pacing.h"
#include "gateway/broker_port.h"
#include "gateway/submit_packing.h"

namespace batchq {

class BrokerLink : public BrokerPort {
 public:
  struct Options {
    std::string endpoint = "tcp://127.0.0.1:5555";  // or several, comma-separated
    std::chrono::milliseconds ping_interval{500};
    std::uint32_t liveness = 3;            // missed status replies before the broker counts as gone
    std::optional<CurveClientKeys> curve;  // nullopt: plain (loopback only, checked in main)
    // After each round of the endpoints without an active broker, the next move waits
    // this long, doubling each round up to max_move_pause (broker_move_pacing.h).
    std::chrono::milliseconds move_pause{50};
    std::chrono::milliseconds max_move_pause{2000};
  };

  BrokerLink(zmq::context_t& context, Options options);
  ~BrokerLink();  // stops and joins the thread; pending callbacks get broker_timeout
  BrokerLink(const BrokerLink&) = delete;
  BrokerLink& operator=(const BrokerLink&) = delete;

  // Thread-safe. The callback is called exactly once.
  void Submit(std::vector<wire::SubmitJob> jobs, std::chrono::milliseconds timeout,
              SubmitCallback done) override;

  // Thread-safe: each thread has its own burst, of one link at a time.
  void BeginBurst() override;
  void EndBurst() override;

  // Thread-safe, fire and forget: tells the broker a job was cancelled in Redis.
  void Cancel(std::string id) override;

  // True while status replies from an active broker keep arriving.
  bool alive() const override;
  // The latest status from the broker; never null (empty before the first reply).
  std::shared_ptr<const wire::Status> status() const override;
  // How many times it has left a broker for the next endpoint. Thread-safe.
  std::uint64_t moves() const { return moves_.load(); }

 private:
  void Loop();
  // Leaves the current broker for the next endpoint now, if the pacing allows it, or
  // else as soon as it does (unless an active broker answers first).
  void MoveOn(std::string_view why, std::chrono::steady_clock::time_point now);
  // The move that waits for the pacing, if any.
  void MoveIfDue(std::chrono::steady_clock::time_point now);
  void DrainReplies();
  void FlushOutgoing();
  // Answers broker_timeout to the requests past their deadline; the earliest deadline
  // of those still waiting, if any.
  std::optional<std::chrono::steady_clock::time_point> ExpirePending(
      std::chrono::steady_clock::time_point now);

  const Options options_;
  BrokerDealer dealer_;  // owned by the link thread
  std::chrono::steady_clock::time_point next_ping_{};
  WakeSignal wake_;
  std::atomic<bool> stop_{false};
  BrokerLiveness liveness_;
  BrokerMovePacing pacing_;              // owned by the link thread
  std::optional<std::string> move_why_;  // a move waiting for the pacing
  std::atomic<std::uint64_t> moves_{0};

  mutable std::mutex mutex_;  // guards outgoing_ and status_
  std::vector<SubmitRequest> outgoing_;
  std::vector<std::string> cancels_;
  std::shared_ptr<const wire::Status> status_;

  // Owned by the link thread. The submits queued between two turns go out packed
  // (submit_packing.h); each message waits here for its ACCEPT.
  std::unordered_map<std::uint64_t, PackedRequests> pending_;
  std::uint64_t next_request_id_ = 1;
  std::uint64_t ping_seq_ = 0;
  LogThrottle bad_input_log_{std::chrono::seconds(1)};

  std::thread thread_;
};

}  // namespace batchq
