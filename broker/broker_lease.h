#pragma once
// The broker lease in Redis (job_store.h's schema): {prefix}broker:lease holds
// "<epoch> <holder>" with an expiry, and {prefix}broker:epoch holds the last epoch drawn.
// Taking the lease (only when it is free, or already this holder's) always draws a new
// epoch, so each term of a broker, even the same process after it stepped down, fences
// the last. The calls are small scripts, atomic in Redis; LeaseState decides what their
// answers mean. Not thread-safe: it uses the caller's connection on the caller's thread.

#include <chrono>
#include <cstdint>
#include <string>

#include "common/error.h"
#include "common/redis_connection.h"

namespace batchq {

class BrokerLease {
 public:
  // `redis` must outlive the lease. `holder` names this broker process uniquely.
  BrokerLease(RedisConnection& redis, std::string key_prefix, std::string holder,
              std::chrono::milliseconds lease);

  // The new epoch when the lease was free (or ours) and is now ours; 0 when another
  // broker holds it.
  Result<std::uint64_t> Take();
  // Extends the lease of `epoch`; false when it is no longer ours (it lapsed, or another
  // broker took it).
  Result<bool> Renew(std::uint64_t epoch);
  // Gives the lease of `epoch` up, so a standby takes over without waiting it out.
  Status Release(std::uint64_t epoch);

  const std::string& holder() const { return holder_; }

 private:
  RedisConnection& redis_;
  const std::string lease_key_;
  const std::string epoch_key_;
  const std::string holder_;
  const std::string lease_ms_;  // the lease in milliseconds, as text
};

// A holder name unique to this process: host, pid and a random part.
std::string NewLeaseHolder();

}  // namespace batchq
