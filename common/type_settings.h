#pragma once
// Per-job-type batching settings, shared by the broker (which enforces them) and
// the gateway (which shows them in GET /v1/types).

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"

namespace batchq {

struct TypeSettings {
  std::string name;
  std::uint32_t max_batch_size = 32;
  std::chrono::microseconds max_delay{std::chrono::milliseconds(5)};
  std::uint32_t max_queue = 100'000;  // queued jobs of this type before submit answers 429
};

// Parses "NAME" or "NAME:key=value,key=value" with keys max_batch_size, max_delay_ms,
// max_delay_us and max_queue; keys not given keep the value from `defaults`.
Result<TypeSettings> ParseTypeSettings(std::string_view spec, const TypeSettings& defaults);

}  // namespace batchq
