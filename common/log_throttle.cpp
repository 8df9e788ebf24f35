#include "common/log_throttle.h"

#include <fmt/format.h>

namespace batchq {

LogThrottle::LogThrottle(std::chrono::milliseconds interval, std::size_t max_keys)
    : interval_(interval), max_keys_(max_keys) {}

std::optional<std::uint64_t> LogThrottle::Admit(std::string_view key, Clock::time_point now) {
  auto it = entries_.find(std::string(key));
  if (it == entries_.end() && entries_.size() >= max_keys_) {
    // Forget peers that have been quiet for a whole interval before sharing the budget.
    std::erase_if(entries_, [&](const auto& entry) { return entry.second.next_line <= now; });
  }
  Entry* entry = nullptr;
  if (it != entries_.end()) {
    entry = &it->second;
  } else if (entries_.size() < max_keys_) {
    entry = &entries_.emplace(std::string(key), Entry{}).first->second;
  } else {
    entry = &overflow_;
  }
  if (now < entry->next_line) {
    ++entry->held_back;
    return std::nullopt;
  }
  const std::uint64_t held_back = entry->held_back;
  entry->held_back = 0;
  entry->next_line = now + interval_;
  return held_back;
}

std::string HeldBackNote(std::uint64_t held_back) {
  return held_back == 0 ? std::string() : fmt::format(" ({} more since the last line)", held_back);
}

}  // namespace batchq
