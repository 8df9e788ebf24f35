#pragma once
// What becomes of a webhook delivery after one try: delivered on a 2xx; tried again
// after an exponential backoff with jitter on a network error, a timeout, a 5xx, 408 or
// 429 (the receiver's Retry-After, when longer, wins); dead after max_tries, or at once on
// any other answer (a 4xx says the request itself is wrong) or a refused destination.
// Pure: the time and the jitter are arguments.

#include <chrono>
#include <cstdint>
#include <optional>

namespace batchq {

struct DeliveryTry {
  // The receiver's HTTP status; nullopt: no answer (connect, TLS, timeout).
  std::optional<int> status;
  bool destination_refused = false;     // the allow-list refused the resolved address
  std::chrono::seconds retry_after{0};  // from the answer; 0: none
};

struct DeliveryPolicy {
  std::uint32_t max_tries = 8;
  std::chrono::milliseconds first_backoff{1000};
  std::chrono::milliseconds max_backoff{std::chrono::hours(1)};
};

enum class DeliveryState { kDelivered, kRetrying, kFailed };

struct DeliveryVerdict {
  DeliveryState state = DeliveryState::kFailed;
  std::chrono::milliseconds retry_in{0};  // kRetrying: when to try again
};

// `tries`: the tries made, this one included (1 after the first). `jitter` in [0.5, 1].
DeliveryVerdict Judge(const DeliveryPolicy& policy, const DeliveryTry& attempt, std::uint32_t tries,
                      double jitter);

}  // namespace batchq
