#include "gateway/delivery_policy.h"

#include <algorithm>
#include <cmath>

namespace batchq {

DeliveryVerdict Judge(const DeliveryPolicy& policy, const DeliveryTry& attempt, std::uint32_t tries,
                      double jitter) {
  if (attempt.status && *attempt.status >= 200 && *attempt.status < 300) {
    return {DeliveryState::kDelivered, {}};
  }
  const bool transient =
      !attempt.status || *attempt.status >= 500 || *attempt.status == 408 || *attempt.status == 429;
  if (attempt.destination_refused || !transient || tries >= policy.max_tries) {
    return {DeliveryState::kFailed, {}};
  }
  const double doubled = static_cast<double>(policy.first_backoff.count()) *
                         std::pow(2.0, static_cast<double>(tries - 1));
  const double capped = std::min(doubled, static_cast<double>(policy.max_backoff.count()));
  auto wait =
      std::chrono::milliseconds(static_cast<std::int64_t>(capped * std::clamp(jitter, 0.5, 1.0)));
  wait = std::max<std::chrono::milliseconds>(wait, attempt.retry_after);
  return {DeliveryState::kRetrying, std::min(wait, policy.max_backoff)};
}

}  // namespace batchq
