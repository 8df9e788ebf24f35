#pragma once
// The webhook deliveries in Redis, which the job store's ending scripts queue
// (job_store_scripts.cpp, queue_webhook):
//   {prefix}webhook:due               sorted set: delivery ids by when to try next (ms)
//   {prefix}webhook:<id>              hash: job, tenant, state (pending, delivered,
//                                     failed), tries, last_error, created_us, updated_us
//   {prefix}webhook:failed:<tenant>   sorted set: the tenant's dead deliveries by when
//                                     they died (ms)
// A delivered or dead delivery is kept `keep` (the jobs' result TTL), then expires; a
// re-sent one is kept until its next verdict.
// A delivery id is "<job id>.<attempt>", what a receiver de-duplicates on.
// Not thread-safe: one per RedisConnection per thread.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/redis_connection.h"
#include "common/wall_clock.h"

namespace batchq {

struct DueDelivery {
  std::string id;
  std::string job_id;
  std::string tenant;
  std::uint32_t tries = 0;  // made before this one
};

// A delivery as GET /v1/webhooks/deliveries shows it.
struct DeliveryView {
  std::string id;
  std::string job_id;
  std::string state;  // pending, delivered, failed
  std::uint32_t tries = 0;
  std::string last_error;
  std::int64_t created_us = 0;
  std::int64_t updated_us = 0;  // 0: no verdict yet
};

class WebhookStore {
 public:
  // `redis` must outlive the store.
  WebhookStore(RedisConnection& redis, std::string key_prefix,
               std::chrono::seconds keep = std::chrono::hours(24));

  // Up to `limit` deliveries due at `now`, each pushed `lease` ahead in the same script:
  // no other gateway takes it meanwhile, and one whose gateway died mid-try comes back
  // when the lease ends (at least once).
  Result<std::vector<DueDelivery>> ClaimDue(WallMicros now, std::chrono::milliseconds lease,
                                            std::size_t limit);
  Status MarkDelivered(const DueDelivery& delivery, WallMicros now);
  // `tries` counts this one; the next try is at `at`.
  Status RetryLater(const DueDelivery& delivery, std::uint32_t tries, std::string_view error,
                    WallMicros at);
  Status MarkFailed(const DueDelivery& delivery, std::uint32_t tries, std::string_view error,
                    WallMicros now);
  // The tenant's dead deliveries, newest first.
  Result<std::vector<DeliveryView>> Failed(std::string_view tenant, std::size_t limit);
  // Queues a dead delivery of `tenant` again, its tries reset; false when it has none.
  Result<bool> Resend(std::string_view tenant, std::string_view id, WallMicros now);

  std::string DeliveryKey(std::string_view id) const;

 private:
  std::string FailedKey(std::string_view tenant) const;

  RedisConnection& redis_;
  const std::string prefix_;
  const std::string due_key_;
  const std::chrono::seconds keep_;
};

}  // namespace batchq
