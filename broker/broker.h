#pragma once
// The broker process's shell around BrokerCore: a ROUTER for gateways (frontend) and a
// ROUTER for workers (backend). Run() receives messages, passes them with the time to
// the core, sends the messages the core returns and hands its job endings to the
// EndingWriter's thread. The only Redis call on this thread is the periodic recovery
// sweep (every sweep_interval), never one per message or per batch.
// Single-threaded: Run() owns both sockets and the core.

#include <atomic>
#include <memory>
#include <string>

#include <zmq.hpp>

#include "broker/broker_config.h"
#include "broker/broker_core.h"
#include "broker/broker_metrics.h"
#include "broker/ending_writer.h"
#include "broker/zap_handler.h"
#include "common/job_store.h"
#include "common/log_throttle.h"
#include "common/metrics_endpoint.h"
#include "common/redis_connection.h"
#include "common/zmq_transport.h"

namespace batchq {

class Broker {
 public:
  // Binds both sockets; throws std::runtime_error when it cannot (start-up failure).
  explicit Broker(const BrokerConfig& config);
  ~Broker();

  // Serves until `stop` becomes true.
  void Run(const std::atomic<bool>& stop);

  std::string frontend_endpoint() const { return frontend_endpoint_; }
  std::string backend_endpoint() const { return backend_endpoint_; }

 private:
  void HandleFrontend(Now now, Effects& out);
  void HandleBackend(Now now, Effects& out);
  // A malformed message: a throttled log line naming its sender, and a DISCONNECT.
  void RefuseBadMessage(std::string_view port, const ReceivedWire& received,
                        std::vector<Outbound>& replies);
  // Sends what the core decided; failed sends go back to the core, which may decide more.
  void Apply(Effects effects, Now now);
  void Sweep(Now now, Effects& out);
  void UpdateGauges(MonotonicTime now);
  // CURVE on both sockets with the ZAP handler behind them, or plain on loopback only.
  void SecureSockets();

  const BrokerConfig config_;
  std::shared_ptr<prometheus::Registry> registry_;
  BrokerMetrics metrics_;
  MetricsEndpoint metrics_endpoint_;
  zmq::context_t context_;
  std::unique_ptr<ZapHandler> zap_;  // before the sockets: it must outlive their handshakes
  zmq::socket_t frontend_;
  zmq::socket_t backend_;
  std::string frontend_endpoint_;
  std::string backend_endpoint_;

  BrokerCore core_;
  RedisConnection redis_;  // the sweep's
  JobStore store_;
  EndingWriter endings_;
  MonotonicTime next_heartbeat_{};
  MonotonicTime next_sweep_{};
  LogThrottle bad_input_log_{std::chrono::seconds(1)};  // per port and peer
};

}  // namespace batchq
