#pragma once
// The broker process's shell around BrokerCore: a ROUTER for gateways (frontend) and a
// ROUTER for workers (backend). Run() receives messages, passes them with the time to
// the core, sends the messages the core returns and hands its job endings to the
// EndingWriter's thread. The only Redis call on this thread is the periodic recovery
// sweep (every sweep_interval), never one per message or per batch. Whether submitted
// jobs have a record is RecordCheck's to find out, on its thread: after the fact (an
// audit; jobs without one are withdrawn) until such junk is seen, then, for a while,
// before the core sees a SUBMIT.
// Any number of brokers may share one Redis: the one holding the lease (BrokerLease,
// LeaseState) is active and serves; the others stand by, answering their peers that
// they are not active, until the lease lapses and one of them takes it, rebuilds its
// queues from Redis and serves under a new epoch. A broker whose lease lapsed by its
// own clock drops its queues and stands by; Redis refuses what it still sends.
// Single-threaded: Run() owns both sockets and the core.

#include <atomic>
#include <memory>
#include <string>

#include <zmq.hpp>

#include "broker/broker_config.h"
#include "broker/broker_core.h"
#include "broker/broker_lease.h"
#include "broker/broker_metrics.h"
#include "broker/ending_writer.h"
#include "broker/lease_state.h"
#include "broker/record_check.h"
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
  // Renews or takes the lease when due, and acts on the outcome.
  void KeepLease();
  // A new term under `epoch`: a fresh core, and every job Redis holds queued taken on
  // at once (no sweep grace: a SUBMIT that arrives for one of them is a duplicate).
  void BecomeActive(std::uint64_t epoch);
  // The lease is gone: workers are sent away, the queues dropped (Redis has them).
  void StepDown(std::string_view why);
  // Serves one turn of the active broker's timers: heartbeats, sweep, endings, ticks.
  void ServeTimers(Now now, Effects& out);
  // A standby's answers: an inactive STATUS, refused SUBMITs, DISCONNECT to workers.
  void AnswerAsStandby(zmq::socket_t& socket, bool frontend);
  // Reads pending jobs created before `cutoff`, from `offset` on, and gives the core
  // those it does not know; how many pending ids were read (0 when Redis failed).
  std::size_t SweepPending(WallMicros cutoff, std::size_t offset, Now now, Effects& out);
  void HandleFrontend(Now now, Effects& out);
  // Admits a SUBMIT and audits the jobs the core took, or (while junk was seen lately)
  // holds it for RecordCheck; refuses it (overloaded) when too many jobs await their
  // check already, so a flood cannot grow the broker's memory.
  void CheckRecords(std::string routing, wire::Submit submit, Now now, Effects& out);
  // Passes held SUBMITs to the core with whether each job has a record (if Redis could
  // not say, refuses them: the gateway keeps what it stored and the sweep queues it), and
  // withdraws audited jobs that have none.
  void AdmitChecked(Now now, Effects& out);
  // `count` submitted jobs had no record: check every SUBMIT first for a while.
  void OnJunk(std::size_t count, Now now);
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

  std::unique_ptr<BrokerCore> core_;  // a fresh one every term; an empty one while standing by
  RedisConnection redis_;             // the sweep's and the lease's
  JobStore store_;
  BrokerLease lease_;
  LeaseState lease_state_;
  EndingWriter endings_;
  RecordCheck record_check_;
  MonotonicTime next_heartbeat_{};
  MonotonicTime next_sweep_{};
  MonotonicTime check_first_until_{};  // SUBMITs are held for RecordCheck until then
  LogThrottle bad_input_log_{std::chrono::seconds(1)};  // per port and peer
  LogThrottle lease_log_{std::chrono::seconds(5)};
};

}  // namespace batchq
