#pragma once
// The broker process: a ROUTER for gateways (frontend), a ROUTER for workers
// (backend), the BatchPolicy deciding batches and the WorkerRegistry tracking credits
// and liveness. Single-threaded: Run() owns both sockets and all state.
// Redis is touched only off the hot path: the recovery sweep and terminal failures.

#include <atomic>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include <zmq.hpp>

#include "broker/broker_metrics.h"
#include "common/metrics_endpoint.h"

#include "broker/batch_policy.h"
#include "broker/broker_config.h"
#include "broker/worker_registry.h"
#include "common/job_store.h"
#include "common/redis_connection.h"
#include "common/wire.h"

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
  struct InFlight {
    std::string worker_routing;
    std::string type;
    std::vector<QueuedJob> jobs;
  };

  void HandleFrontend(MonotonicTime now);
  void HandleBackend(MonotonicTime now);
  void OnSubmit(const std::string& routing, wire::Submit submit, MonotonicTime now);
  void OnReady(const std::string& routing, wire::Ready ready, MonotonicTime now);
  void OnDone(const std::string& routing, const wire::Done& done);
  void OnCancel(const wire::Cancel& cancel);
  void Dispatch(MonotonicTime now);
  bool SendBatch(WorkerInfo& worker, ReadyBatch& batch);
  void Heartbeat(MonotonicTime now);
  void LoseWorker(WorkerInfo worker);
  void Sweep(MonotonicTime now);
  // Records terminal states the broker decides (expired, worker_lost) in Redis; what
  // cannot be written now is kept and retried on the next heartbeat tick.
  void EndJobs(std::vector<std::string> ids, std::string status, std::string code,
               std::string message);
  void RetryTerminalWrites();
  wire::Status BuildStatus(std::uint64_t seq) const;

  void UpdateGauges();

  const BrokerConfig config_;
  std::shared_ptr<prometheus::Registry> registry_;
  BrokerMetrics metrics_;
  MetricsEndpoint metrics_endpoint_;
  zmq::context_t context_;
  zmq::socket_t frontend_;
  zmq::socket_t backend_;
  std::string frontend_endpoint_;
  std::string backend_endpoint_;

  BatchPolicy policy_;
  WorkerRegistry workers_;
  std::unordered_map<std::string, InFlight> in_flight_;  // by batch id
  std::unordered_set<std::string> known_ids_;            // queued or in flight here
  // Runs of a job lost with their worker while it was running them. Only these count
  // toward max_attempts: a batch waiting on a lost worker's doorstep never ran.
  std::unordered_map<std::string, std::uint32_t> lost_runs_;
  struct TerminalWrite {
    std::vector<std::string> ids;
    std::string status, code, message;
  };
  std::vector<TerminalWrite> terminal_writes_;  // awaiting Redis

  RedisConnection redis_;
  JobStore store_;
  std::optional<MonotonicTime> wake_at_;
  MonotonicTime next_heartbeat_{};
  MonotonicTime next_sweep_{};
  std::uint64_t batch_counter_ = 0;
  std::string batch_prefix_;
};

}  // namespace batchq
