#pragma once
// Per-job-type batching settings, shared by the broker (which enforces them) and
// the gateway (which shows them in GET /v1/types).

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace batchq {

struct TypeSettings {
  std::string name;
  std::uint32_t max_batch_size = 32;
  std::chrono::microseconds max_delay{std::chrono::milliseconds(5)};
  std::uint32_t max_queue = 100'000;  // queued jobs of this type before submit answers 429
  // Admission by time: a submit is refused (429 queue_wait_exceeded) while the queue
  // would take longer than this to drain at the rate its workers are known to manage
  // (BatchPolicy::ProjectedWait); 0: no bound.
  std::chrono::milliseconds max_queue_wait{0};
  // Sizes worth dispatching at once when reached (ascending), as Triton's preferred sizes.
  std::vector<std::uint32_t> preferred_batch_sizes;
  std::size_t max_batch_bytes = 0;  // sum of the members' input sizes; 0: no limit
  // Jobs without their own timeout_ms must be dispatched within this; 0: no limit.
  std::chrono::milliseconds default_timeout{0};
  // Wait for more jobs only when it pays (learned cost, arrival rate); false: fixed delay.
  bool adaptive = true;
  // A batch held by its worker longer than this is taken back and run again elsewhere
  // (a hung worker keeps no jobs forever); 0: from the learned cost, with a floor.
  std::chrono::milliseconds max_run{0};
  // Defaults of jobs that name none: retries after a retryable failure, and the backoff
  // before the first (doubled for each one after).
  std::uint32_t max_retries = 0;
  std::chrono::milliseconds retry_backoff{1000};
};

// Parses "NAME" or "NAME:key=value,key=value" with keys max_batch_size, max_delay_ms,
// max_delay_us, max_queue, max_queue_wait_ms, preferred (sizes joined by '/', e.g. preferred=8/16),
// max_batch_bytes, timeout_ms, max_run_ms, max_retries, retry_backoff_ms and adaptive (0 or
// 1); keys not given keep
// `defaults`.
Result<TypeSettings> ParseTypeSettings(std::string_view spec, const TypeSettings& defaults);

}  // namespace batchq
