#pragma once
// The worker process's network side: a DEALER to the broker's backend. Announces
// READY with its types and credits, heartbeats, hands BATCH messages to the
// BatchExecutor and reports DONE. Starts over on a fresh socket to the next broker
// endpoint of its list when the broker goes silent (or does not welcome it soon after
// READY) or tells it to start over (a standby does), backing off after each round of
// the list. Run() is single-threaded.

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "common/broker_dealer.h"
#include "common/log_throttle.h"
#include "common/metrics_endpoint.h"
#include "common/wake_signal.h"
#include "gpu_worker/batch_executor.h"
#include "gpu_worker/handler_factory.h"
#include "gpu_worker/worker_config.h"

namespace batchq {

class Worker {
 public:
  // Announces the types of `handlers` (built-in and plugins) and the device of `backend`.
  Worker(const WorkerConfig& config, BatchExecutor::Handlers handlers, BackendChoice backend);
  ~Worker();

  // Serves until `stop`; then finishes the running batch, reports it and disconnects.
  void Run(const std::atomic<bool>& stop);

 private:
  // Announces READY on the current connection.
  void Announce();
  // Gives up on the current broker (`why`, for the log) and connects to the next one.
  void StartOver(std::string_view why);
  void SendDone();
  void HandleMessages(std::chrono::steady_clock::time_point now);

  const WorkerConfig config_;
  const BackendChoice backend_;
  const std::vector<std::string> types_;
  zmq::context_t context_;
  BrokerDealer dealer_;
  std::shared_ptr<prometheus::Registry> registry_;
  WorkerMetrics metrics_;
  MetricsEndpoint metrics_endpoint_;
  WakeSignal done_signal_;
  BatchExecutor executor_;
  bool welcomed_ = false;            // heard from it since connecting
  std::size_t failed_in_a_row_ = 0;  // brokers given up on since the last welcome
  std::chrono::steady_clock::time_point last_heard_{};
  std::chrono::milliseconds reconnect_backoff_{100};
  LogThrottle bad_input_log_{std::chrono::seconds(1)};
  LogThrottle start_over_log_{std::chrono::seconds(1)};
};

}  // namespace batchq
