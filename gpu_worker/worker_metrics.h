#pragma once
// A worker's Prometheus metrics: batches and job outcomes by type, batch execution
// time, and busy seconds (the run stage's, and the device's from CUDA events), whose
// rate() is the busy fraction. Called from the executor's run thread; scraped from the
// exporter's (prometheus-cpp metrics are thread-safe).

#include <chrono>
#include <span>
#include <string_view>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "common/job_store.h"

namespace batchq {

class WorkerMetrics {
 public:
  // `registry` must outlive this object.
  explicit WorkerMetrics(prometheus::Registry& registry);

  // One batch run: its execution time, the outcomes written, and how much device time
  // its handler has accumulated since the last call (zero for CPU handlers).
  void OnBatch(std::string_view type, std::chrono::microseconds exec,
               std::span<const JobOutcome> outcomes, std::chrono::microseconds device_busy);
  // A batch left unclaimed until its results are written (claim_timing.h).
  void OnClaimedAtWrite() { claimed_at_write_.Increment(); }

 private:
  prometheus::Family<prometheus::Counter>& batches_;
  prometheus::Family<prometheus::Counter>& jobs_;
  prometheus::Family<prometheus::Histogram>& batch_seconds_;
  prometheus::Counter& busy_seconds_;
  prometheus::Counter& device_busy_seconds_;
  prometheus::Counter& claimed_at_write_;
};

}  // namespace batchq
