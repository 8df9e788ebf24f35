#include "gateway/per_thread_stores.h"

namespace batchq {

PerThreadStores::PerThreadStores(RedisConnection::Options redis, JobStore::Options store)
    : redis_options_(std::move(redis)), store_options_(std::move(store)) {}

PerThreadStores::Slot& PerThreadStores::Local() {
  std::lock_guard lock(mutex_);
  Slot& slot = slots_[std::this_thread::get_id()];
  if (!slot.store) {
    slot.redis = std::make_unique<RedisConnection>(redis_options_);
    slot.store = std::make_unique<JobStore>(*slot.redis, store_options_);
    slot.keys = std::make_unique<KeyStore>(*slot.redis, store_options_.key_prefix);
    slot.webhooks = std::make_unique<WebhookStore>(*slot.redis, store_options_.key_prefix,
                                                   store_options_.result_ttl);
  }
  return slot;
}

Result<CreateOutcome> PerThreadStores::Create(std::span<const NewJob> jobs,
                                              std::optional<IdempotencyClaim> claim) {
  return Local().store->Create(jobs, claim);
}
Status PerThreadStores::CreateGroup(std::span<const NewJob* const> group) {
  return Local().store->CreateGroup(group);
}
Status PerThreadStores::Remove(std::span<const std::string> ids) {
  return Local().store->Remove(ids);
}
Status PerThreadStores::ForgetIdempotencyKey(std::string_view key) {
  return Local().store->ForgetIdempotencyKey(key);
}
Result<std::optional<JobRecord>> PerThreadStores::Get(std::string_view id) {
  return Local().store->Get(id);
}

Result<std::vector<std::optional<JobRecord>>> PerThreadStores::GetMany(
    std::span<const std::string> ids) {
  return Local().store->GetMany(ids);
}
Result<JobListPage> PerThreadStores::RecentSummaries(const JobListQuery& query) {
  return Local().store->RecentSummaries(query);
}
Result<std::optional<std::string>> PerThreadStores::GetBlob(std::string_view id) {
  return Local().store->GetBlob(id);
}
Result<RequeueOutcome> PerThreadStores::Requeue(std::string_view id, JobStatus* status_out) {
  return Local().store->Requeue(id, status_out);
}

Status PerThreadStores::WithdrawRequeued(std::string_view id, ErrorCode code,
                                         std::string_view message) {
  return Local().store->WithdrawRequeued(id, code, message);
}

Result<CancelOutcome> PerThreadStores::Cancel(std::string_view id, std::string_view cancelled_by,
                                              JobStatus* status_out) {
  return Local().store->Cancel(id, cancelled_by, status_out);
}
Result<StoredBytes> PerThreadStores::ReadStoredBytes(std::string_view tenant, WallMicros now) {
  return Local().store->ReadStoredBytes(tenant, now);
}
Result<int> PerThreadStores::WaitForReplicas(int replicas, std::chrono::milliseconds timeout) {
  return Local().store->WaitForReplicas(replicas, timeout);
}

Status PerThreadStores::Ping() { return Local().store->Ping(); }

Status PerThreadStores::PutKey(const KeyRecord& key) { return Local().keys->Put(key); }
Result<std::optional<KeyRecord>> PerThreadStores::GetKey(std::string_view id) {
  return Local().keys->Get(id);
}
Result<std::vector<KeyRecord>> PerThreadStores::ListKeys() { return Local().keys->List(); }
Result<bool> PerThreadStores::RevokeKey(std::string_view id) { return Local().keys->Revoke(id); }

Result<std::vector<DeliveryView>> PerThreadStores::FailedDeliveries(std::string_view tenant,
                                                                    std::size_t limit) {
  return Local().webhooks->Failed(tenant, limit);
}
Result<bool> PerThreadStores::ResendDelivery(std::string_view tenant, std::string_view id) {
  return Local().webhooks->Resend(tenant, id, NowWallMicros());
}

}  // namespace batchq
