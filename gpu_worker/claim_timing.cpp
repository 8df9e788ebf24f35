#include "gpu_worker/claim_timing.h"

namespace batchq {

ClaimTiming::ClaimTiming(std::chrono::microseconds short_batch) : short_batch_(short_batch) {}

bool ClaimTiming::ClaimsFirst(std::string_view type, std::uint32_t highest_attempt) const {
  if (highest_attempt > 1) return true;
  const auto last = last_run_.find(type);
  return last == last_run_.end() || last->second >= short_batch_;
}

void ClaimTiming::OnBatchRan(std::string_view type, std::chrono::microseconds ran) {
  const auto last = last_run_.find(type);
  if (last != last_run_.end()) {
    last->second = ran;
  } else {
    last_run_.emplace(std::string(type), ran);
  }
}

}  // namespace batchq
