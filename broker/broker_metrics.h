#pragma once
// The broker's Prometheus metrics: what it batches and why, how long jobs queued,
// queue depth and batches in flight per type, live workers, and the jobs it ends
// itself (expired, worker_lost). Called from the broker's thread; scraped from the
// exporter's (prometheus-cpp metrics are thread-safe).

#include <chrono>
#include <cstdint>
#include <span>
#include <string_view>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "broker/broker_core.h"

namespace batchq {

class BrokerMetrics : public BrokerObserver {
 public:
  // `registry` must outlive this object.
  explicit BrokerMetrics(prometheus::Registry& registry);

  void OnSubmit(std::string_view type, bool accepted) override;
  // One dispatched batch: its size, why it closed, and each member's time in the queue.
  void OnBatch(std::string_view type, std::string_view close_reason,
               std::span<const std::chrono::microseconds> queue_waits) override;
  void OnJobsEnded(ErrorCode code, std::size_t count) override;
  void OnBatchOverdue(std::string_view type) override;
  void OnRetriesHeld(std::string_view type, std::size_t count) override;
  void SetQueue(std::string_view type, std::size_t depth, std::size_t in_flight_batches);
  void SetWorkersAlive(std::size_t workers);
  // A CURVE handshake the ZAP handler allowed or refused; safe from its thread.
  void OnPeerChecked(std::string_view domain, bool allowed);
  // This broker took the lease of `epoch`, or (0) stepped down.
  void OnLeaseChange(std::uint64_t epoch);

 private:
  prometheus::Family<prometheus::Counter>& submitted_;
  prometheus::Family<prometheus::Counter>& batches_;
  prometheus::Family<prometheus::Histogram>& batch_size_;
  prometheus::Family<prometheus::Histogram>& queue_wait_;
  prometheus::Family<prometheus::Counter>& ended_;
  prometheus::Family<prometheus::Gauge>& depth_;
  prometheus::Family<prometheus::Gauge>& in_flight_;
  prometheus::Gauge& workers_alive_;
  prometheus::Family<prometheus::Counter>& peers_checked_;
  prometheus::Family<prometheus::Counter>& overdue_;
  prometheus::Family<prometheus::Counter>& retried_;
  prometheus::Gauge& lease_epoch_;
  prometheus::Family<prometheus::Counter>& lease_changes_;
};

}  // namespace batchq
