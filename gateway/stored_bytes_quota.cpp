#include "gateway/stored_bytes_quota.h"

#include <fmt/format.h>

namespace batchq {

std::optional<StoredBytesRefusal> RefuseStoredBytes(std::string_view tenant,
                                                    const StoredBytes& held, std::uint64_t adding,
                                                    std::uint64_t cap, WallMicros now) {
  if (held.bytes + adding <= cap) return std::nullopt;
  if (adding > cap) {
    return StoredBytesRefusal{
        Error{ErrorCode::kQuotaExceeded,
              fmt::format("This submit's {} bytes are more than tenant '{}' may store ({} bytes).",
                          adding, tenant, cap)},
        std::chrono::seconds(0)};
  }
  const auto since_epoch = std::chrono::duration_cast<std::chrono::seconds>(now);
  const std::chrono::seconds wait =
      held.next_release > since_epoch ? held.next_release - since_epoch : std::chrono::seconds(1);
  return StoredBytesRefusal{
      Error{ErrorCode::kQuotaExceeded,
            fmt::format("Tenant '{}' stores {} bytes of jobs, finished ones included; {} more "
                        "would pass its cap of {} bytes. Finished jobs free theirs when their "
                        "results expire.",
                        tenant, held.bytes, adding, cap)},
      wait};
}

std::optional<StoredBytesRefusal> StoredBytesQuota::Admit(std::string_view tenant,
                                                          std::uint64_t key_cap,
                                                          std::uint64_t bytes,
                                                          Clock::time_point now,
                                                          WallMicros wall_now, const Read& read) {
  const std::uint64_t cap = key_cap > 0 ? key_cap : options_.default_cap;
  if (cap == 0) return std::nullopt;
  const bool stale = NeedsRead(tenant, key_cap, now);
  // Read outside the lock: other tenants' submits do not wait on this one's Redis call.
  std::optional<StoredBytes> fresh;
  if (stale) {
    auto held = read(tenant);
    if (!held) return std::nullopt;
    fresh = *held;
  }
  std::lock_guard lock(mutex_);
  auto it = accounts_.find(tenant);
  if (it == accounts_.end()) it = accounts_.emplace(std::string(tenant), Account{}).first;
  Account& account = it->second;
  if (fresh) account = Account{*fresh, now};
  auto refusal = RefuseStoredBytes(tenant, account.held, bytes, cap, wall_now);
  if (!refusal) account.held.bytes += bytes;
  return refusal;
}

bool StoredBytesQuota::NeedsRead(std::string_view tenant, std::uint64_t key_cap,
                                 Clock::time_point now) {
  if (key_cap == 0 && options_.default_cap == 0) return false;
  std::lock_guard lock(mutex_);
  const auto it = accounts_.find(tenant);
  return it == accounts_.end() || now - it->second.read_at >= options_.refresh;
}

}  // namespace batchq
