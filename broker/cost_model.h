#pragma once
// What the broker learns about a job type, from its own observations:
//  * BatchCostModel: batch execution time as a + b·n, fitted by exponentially weighted
//    least squares over the workers' DONE reports (recent batches weigh more).
//  * RateMeter: events per second as an exponentially decaying count (arrivals,
//    dispatches). Time is passed in; nothing here reads a clock.
// Not thread-safe.

#include <chrono>
#include <cstdint>

#include "broker/monotonic_time.h"

namespace batchq {

class BatchCostModel {
 public:
  // Adds one batch of `size` jobs that took `exec`.
  void Observe(std::uint32_t size, std::chrono::microseconds exec);

  bool known() const { return weight_ > 0; }
  // Fixed cost a and per-item cost b, in microseconds. With one batch size seen so far,
  // the whole cost is taken as fixed (b = 0): the cautious reading for waiting decisions.
  double fixed_us() const;
  double per_item_us() const;
  std::chrono::microseconds Predict(std::uint32_t size) const;

 private:
  // Weighted sums for least squares of y (µs) on x (batch size).
  double weight_ = 0, sx_ = 0, sy_ = 0, sxx_ = 0, sxy_ = 0;
};

class RateMeter {
 public:
  explicit RateMeter(std::chrono::milliseconds time_constant = std::chrono::milliseconds(500))
      : tau_s_(std::chrono::duration<double>(time_constant).count()) {}

  void Add(MonotonicTime now, double count = 1);
  // Events per second as of `now`.
  double PerSecond(MonotonicTime now) const;

 private:
  double tau_s_;
  double rate_ = 0;  // events per second at last_
  MonotonicTime last_{};
  bool started_ = false;
};

}  // namespace batchq
