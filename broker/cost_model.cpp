#include "broker/cost_model.h"

#include <algorithm>
#include <cmath>

namespace batchq {
namespace {
constexpr double kDecay = 0.97;  // each new batch weighs as much as ~33 older ones together
}  // namespace

void BatchCostModel::Observe(std::uint32_t size, std::chrono::microseconds exec) {
  const double x = size;
  const double y = static_cast<double>(exec.count());
  weight_ = weight_ * kDecay + 1;
  sx_ = sx_ * kDecay + x;
  sy_ = sy_ * kDecay + y;
  sxx_ = sxx_ * kDecay + x * x;
  sxy_ = sxy_ * kDecay + x * y;
}

double BatchCostModel::per_item_us() const {
  if (weight_ <= 0) return 0;
  const double variance = sxx_ * weight_ - sx_ * sx_;
  if (variance <= 1e-9 * weight_ * weight_) return 0;
  return std::max(0.0, (sxy_ * weight_ - sx_ * sy_) / variance);
}

double BatchCostModel::fixed_us() const {
  if (weight_ <= 0) return 0;
  return std::max(0.0, (sy_ - per_item_us() * sx_) / weight_);
}

std::chrono::microseconds BatchCostModel::Predict(std::uint32_t size) const {
  return std::chrono::microseconds(
      static_cast<std::int64_t>(std::llround(fixed_us() + per_item_us() * size)));
}

void RateMeter::Add(MonotonicTime now, double count) {
  // Decay in steps of at least 100 µs: events closer than that are counted together,
  // which keeps exp() off the per-job path at high rates (error < 100 µs / tau).
  if (!started_) {
    started_ = true;
    last_ = now;
  } else if (now - last_ >= std::chrono::microseconds(100)) {
    rate_ *= std::exp(-std::chrono::duration<double>(now - last_).count() / tau_s_);
    last_ = now;
  }
  rate_ += count / tau_s_;
}

double RateMeter::PerSecond(MonotonicTime now) const {
  if (!started_) return 0;
  const double dt = std::chrono::duration<double>(now - last_).count();
  return dt > 0 ? rate_ * std::exp(-dt / tau_s_) : rate_;
}

}  // namespace batchq
