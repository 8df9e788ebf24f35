#include "gpu_worker/worker_metrics.h"

#include <string>

namespace batchq {

WorkerMetrics::WorkerMetrics(prometheus::Registry& registry)
    : batches_(prometheus::BuildCounter()
                   .Name("batchq_worker_batches_total")
                   .Help("Batches this worker ran, by type")
                   .Register(registry)),
      jobs_(prometheus::BuildCounter()
                .Name("batchq_worker_jobs_total")
                .Help("Job outcomes this worker produced, by type, outcome and error code")
                .Register(registry)),
      batch_seconds_(prometheus::BuildHistogram()
                         .Name("batchq_worker_batch_seconds")
                         .Help("Execution time of one batch on this worker, by type")
                         .Register(registry)),
      busy_seconds_(prometheus::BuildCounter()
                        .Name("batchq_worker_busy_seconds_total")
                        .Help("Seconds the run stage spent on batches; rate() is its busy fraction")
                        .Register(registry)
                        .Add({})),
      device_busy_seconds_(prometheus::BuildCounter()
                               .Name("batchq_worker_device_busy_seconds_total")
                               .Help("Seconds the device ran this worker's batches (CUDA events); "
                                     "rate() is the device busy fraction")
                               .Register(registry)
                               .Add({})),
      claimed_at_write_(prometheus::BuildCounter()
                            .Name("batchq_worker_batches_claimed_at_write_total")
                            .Help("Batches marked running by the write of their results, not "
                                  "before they ran (--claim-at-write-below-ms)")
                            .Register(registry)
                            .Add({})) {}

void WorkerMetrics::OnBatch(std::string_view type, std::chrono::microseconds exec,
                            std::span<const JobOutcome> outcomes,
                            std::chrono::microseconds device_busy) {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  const std::string type_label(type);
  const double seconds = std::chrono::duration<double>(exec).count();
  batches_.Add({{"type", type_label}}).Increment();
  batch_seconds_.Add({{"type", type_label}}, kBuckets).Observe(seconds);
  busy_seconds_.Increment(seconds);
  device_busy_seconds_.Increment(std::chrono::duration<double>(device_busy).count());
  std::size_t succeeded = 0;
  for (const auto& outcome : outcomes) {
    if (outcome.succeeded) {
      ++succeeded;
      continue;
    }
    jobs_
        .Add({{"type", type_label},
              {"outcome", std::string(ToString(JobStatus::kFailed))},
              {"code", std::string(Name(outcome.error_code))}})
        .Increment();
  }
  if (succeeded > 0) {
    jobs_
        .Add({{"type", type_label},
              {"outcome", std::string(ToString(JobStatus::kSucceeded))},
              {"code", ""}})
        .Increment(static_cast<double>(succeeded));
  }
}

}  // namespace batchq
