#include "gateway/saturated_types.h"

#include <algorithm>

#include <fmt/format.h>

namespace batchq {

void SaturatedTypes::Mark(std::string_view type, const wire::Status& current,
                          std::chrono::milliseconds retry_after, std::string message) {
  std::lock_guard lock(mutex_);
  marks_.insert_or_assign(std::string(type),
                          Marked{current.seq, Refusal{std::move(message), retry_after}});
}

std::optional<SaturatedTypes::Refusal> SaturatedTypes::Check(std::string_view type,
                                                             const wire::Status& latest) const {
  {
    std::lock_guard lock(mutex_);
    const auto mark = marks_.find(type);
    if (mark != marks_.end() && mark->second.status_seq >= latest.seq) return mark->second.refusal;
  }
  const auto found = std::find_if(latest.types.begin(), latest.types.end(),
                                  [&](const wire::TypeStatus& t) { return t.name == type; });
  if (found == latest.types.end() || found->refusing_retry_after_ms <= 0) return std::nullopt;
  const std::chrono::milliseconds retry_after(found->refusing_retry_after_ms);
  return Refusal{
      fmt::format("The queue for '{}' would keep a new job waiting about {:.1f} s, past its "
                  "bound of {} ms; retry in {} s.",
                  type, static_cast<double>(found->projected_wait_us) / 1e6,
                  found->max_queue_wait_ms,
                  std::chrono::ceil<std::chrono::seconds>(retry_after).count()),
      retry_after};
}

}  // namespace batchq
