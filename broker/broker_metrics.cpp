#include "broker/broker_metrics.h"

#include <string>

namespace batchq {
namespace {

const prometheus::Histogram::BucketBoundaries& SizeBuckets() {
  static const prometheus::Histogram::BucketBoundaries buckets = {1,  2,   4,   8,   16,  32,
                                                                  64, 128, 256, 512, 1024};
  return buckets;
}

const prometheus::Histogram::BucketBoundaries& WaitBuckets() {
  static const prometheus::Histogram::BucketBoundaries buckets = {
      0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return buckets;
}

}  // namespace

BrokerMetrics::BrokerMetrics(prometheus::Registry& registry)
    : submitted_(prometheus::BuildCounter()
                     .Name("batchq_jobs_submitted_total")
                     .Help("Jobs offered to the broker, by type and verdict (accepted|refused)")
                     .Register(registry)),
      batches_(prometheus::BuildCounter()
                   .Name("batchq_batches_total")
                   .Help("Batches dispatched, by type and close reason")
                   .Register(registry)),
      batch_size_(prometheus::BuildHistogram()
                      .Name("batchq_batch_size")
                      .Help("Jobs per dispatched batch, by type")
                      .Register(registry)),
      queue_wait_(prometheus::BuildHistogram()
                      .Name("batchq_queue_wait_seconds")
                      .Help("Time from a job's arrival at the broker to its dispatch, by type")
                      .Register(registry)),
      ended_(prometheus::BuildCounter()
                 .Name("batchq_broker_jobs_ended_total")
                 .Help("Jobs the broker ended itself, by outcome (expired|worker_lost)")
                 .Register(registry)),
      depth_(prometheus::BuildGauge()
                 .Name("batchq_queue_depth")
                 .Help("Jobs queued at the broker, by type")
                 .Register(registry)),
      in_flight_(prometheus::BuildGauge()
                     .Name("batchq_in_flight_batches")
                     .Help("Batches dispatched and not reported done, by type")
                     .Register(registry)),
      workers_alive_(prometheus::BuildGauge()
                         .Name("batchq_workers_alive")
                         .Help("Workers connected and heartbeating")
                         .Register(registry)
                         .Add({})),
      peers_checked_(prometheus::BuildCounter()
                         .Name("batchq_broker_peer_handshakes_total")
                         .Help("CURVE handshakes checked against the allow-lists, by port "
                               "(gateway|worker) and verdict (allowed|refused)")
                         .Register(registry)),
      overdue_(prometheus::BuildCounter()
                   .Name("batchq_batches_overdue_total")
                   .Help("Batches taken back from a worker that held them past max_run, by type")
                   .Register(registry)),
      retried_(prometheus::BuildCounter()
                   .Name("batchq_jobs_retried_total")
                   .Help("Jobs that failed retryably and were queued again after a backoff, by "
                         "type")
                   .Register(registry)),
      lease_epoch_(prometheus::BuildGauge()
                       .Name("batchq_broker_lease_epoch")
                       .Help("The lease epoch this broker serves under; 0 while standing by")
                       .Register(registry)
                       .Add({})),
      lease_changes_(prometheus::BuildCounter()
                         .Name("batchq_broker_lease_changes_total")
                         .Help("Times this broker took the lease (taken) or lost it (lost)")
                         .Register(registry)) {}

void BrokerMetrics::OnLeaseChange(std::uint64_t epoch) {
  lease_epoch_.Set(static_cast<double>(epoch));
  lease_changes_.Add({{"change", epoch != 0 ? "taken" : "lost"}}).Increment();
}

void BrokerMetrics::OnSubmit(std::string_view type, bool accepted) {
  submitted_.Add({{"type", std::string(type)}, {"verdict", accepted ? "accepted" : "refused"}})
      .Increment();
}

void BrokerMetrics::OnBatch(std::string_view type, std::string_view close_reason,
                            std::span<const std::chrono::microseconds> queue_waits) {
  const std::string type_label(type);
  batches_.Add({{"type", type_label}, {"reason", std::string(close_reason)}}).Increment();
  batch_size_.Add({{"type", type_label}}, SizeBuckets())
      .Observe(static_cast<double>(queue_waits.size()));
  auto& wait = queue_wait_.Add({{"type", type_label}}, WaitBuckets());
  for (const auto waited : queue_waits) {
    wait.Observe(std::chrono::duration<double>(waited).count());
  }
}

void BrokerMetrics::OnJobsEnded(ErrorCode code, std::size_t count) {
  ended_.Add({{"outcome", std::string(Name(code))}}).Increment(static_cast<double>(count));
}

void BrokerMetrics::SetQueue(std::string_view type, std::size_t depth,
                             std::size_t in_flight_batches) {
  const std::string type_label(type);
  depth_.Add({{"type", type_label}}).Set(static_cast<double>(depth));
  in_flight_.Add({{"type", type_label}}).Set(static_cast<double>(in_flight_batches));
}

void BrokerMetrics::SetWorkersAlive(std::size_t workers) {
  workers_alive_.Set(static_cast<double>(workers));
}

void BrokerMetrics::OnBatchOverdue(std::string_view type) {
  overdue_.Add({{"type", std::string(type)}}).Increment();
}

void BrokerMetrics::OnRetriesHeld(std::string_view type, std::size_t count) {
  retried_.Add({{"type", std::string(type)}}).Increment(static_cast<double>(count));
}

void BrokerMetrics::OnPeerChecked(std::string_view domain, bool allowed) {
  peers_checked_.Add({{"port", std::string(domain)}, {"verdict", allowed ? "allowed" : "refused"}})
      .Increment();
}

}  // namespace batchq
