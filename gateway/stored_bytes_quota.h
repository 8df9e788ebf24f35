#pragma once
// Admission by a tenant's stored bytes: what its job records hold in Redis, finished ones
// included, until they expire (JobStore's account, common/job_store.h). A submit that
// would take the tenant past its cap is refused with 429 quota_exceeded, and Retry-After
// says when the soonest part of the tenant's bytes is released.
//
// The account is read from Redis at most once per `refresh` per tenant; between reads
// this gateway adds the bytes it admitted to the last figure. So the cap holds exactly
// for one gateway, and is soft by what other gateways admit and running jobs write
// within one `refresh`. Thread-safe.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "common/job_store.h"
#include "common/wall_clock.h"

namespace batchq {

struct StoredBytesRefusal {
  Error error;                          // quota_exceeded
  std::chrono::seconds retry_after{0};  // 0: waiting does not help (the submit is over the cap)
};

// The decision, pure: may `adding` bytes join the `held` ones under `cap`?
std::optional<StoredBytesRefusal> RefuseStoredBytes(std::string_view tenant,
                                                    const StoredBytes& held, std::uint64_t adding,
                                                    std::uint64_t cap, WallMicros now);

class StoredBytesQuota {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    std::uint64_t default_cap = 0;  // bytes, for keys without a cap of their own; 0: none
    std::chrono::milliseconds refresh{100};
  };
  // Reads a tenant's account from Redis.
  using Read = std::function<Result<StoredBytes>(std::string_view tenant)>;

  explicit StoredBytesQuota(Options options) : options_(options) {}

  // nullopt when admitted (the bytes are then counted); `key_cap` 0: the default cap. A
  // failed read admits: the write that follows meets the same Redis and answers for it.
  std::optional<StoredBytesRefusal> Admit(std::string_view tenant, std::uint64_t key_cap,
                                          std::uint64_t bytes, Clock::time_point now,
                                          WallMicros wall_now, const Read& read);
  // Whether Admit would read the tenant's account at `now` (it has a cap, and its
  // figure is missing or `refresh` old): the gateway then admits off its I/O threads.
  bool NeedsRead(std::string_view tenant, std::uint64_t key_cap, Clock::time_point now);

 private:
  struct Account {
    StoredBytes held;
    Clock::time_point read_at;
  };

  const Options options_;
  std::mutex mutex_;
  std::map<std::string, Account, std::less<>> accounts_;  // by tenant
};

}  // namespace batchq
