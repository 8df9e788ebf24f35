#pragma once
// The gateway's JobStorePort, KeyStorePort and WebhookDeliveriesPort on Redis: each
// calling thread gets a JobStore, a KeyStore and a WebhookStore on a Redis connection of its own,
// made on its first call and kept until this object goes. Thread-safe; the calls themselves block
// on Redis for up to the command timeout.

#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "common/job_store.h"
#include "common/key_store.h"
#include "common/redis_connection.h"
#include "common/webhook_store.h"
#include "gateway/job_store_port.h"
#include "gateway/key_store_port.h"
#include "gateway/webhook_deliveries_port.h"

namespace batchq {

class PerThreadStores : public JobStorePort, public KeyStorePort, public WebhookDeliveriesPort {
 public:
  PerThreadStores(RedisConnection::Options redis, JobStore::Options store);

  Result<CreateOutcome> Create(std::span<const NewJob> jobs,
                               std::optional<IdempotencyClaim> claim) override;
  Status CreateGroup(std::span<const NewJob* const> group) override;
  Status Remove(std::span<const std::string> ids) override;
  Status ForgetIdempotencyKey(std::string_view key) override;
  Result<std::optional<JobRecord>> Get(std::string_view id) override;
  Result<std::vector<std::optional<JobRecord>>> GetMany(std::span<const std::string> ids) override;
  Result<JobListPage> RecentSummaries(const JobListQuery& query) override;
  Result<std::optional<std::string>> GetBlob(std::string_view id) override;
  Result<RequeueOutcome> Requeue(std::string_view id, JobStatus* status_out) override;
  Status WithdrawRequeued(std::string_view id, ErrorCode code, std::string_view message) override;
  Result<CancelOutcome> Cancel(std::string_view id, std::string_view cancelled_by,
                               JobStatus* status_out) override;
  Result<StoredBytes> ReadStoredBytes(std::string_view tenant, WallMicros now) override;
  Result<int> WaitForReplicas(int replicas, std::chrono::milliseconds timeout) override;
  Status Ping() override;

  Status PutKey(const KeyRecord& key) override;
  Result<std::optional<KeyRecord>> GetKey(std::string_view id) override;
  Result<std::vector<KeyRecord>> ListKeys() override;
  Result<bool> RevokeKey(std::string_view id) override;

  Result<std::vector<DeliveryView>> FailedDeliveries(std::string_view tenant,
                                                     std::size_t limit) override;
  Result<bool> ResendDelivery(std::string_view tenant, std::string_view id) override;

 private:
  struct Slot {
    std::unique_ptr<RedisConnection> redis;
    std::unique_ptr<JobStore> store;
    std::unique_ptr<KeyStore> keys;
    std::unique_ptr<WebhookStore> webhooks;
  };
  Slot& Local();

  const RedisConnection::Options redis_options_;
  const JobStore::Options store_options_;
  std::mutex mutex_;  // guards slots_; each slot is used by its own thread only
  std::unordered_map<std::thread::id, Slot> slots_;
};

}  // namespace batchq
