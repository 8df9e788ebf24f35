#include "gateway/per_thread_job_store.h"

namespace batchq {

PerThreadJobStore::PerThreadJobStore(RedisConnection::Options redis, JobStore::Options store)
    : redis_options_(std::move(redis)), store_options_(std::move(store)) {}

JobStore& PerThreadJobStore::Local() {
  std::lock_guard lock(mutex_);
  Slot& slot = slots_[std::this_thread::get_id()];
  if (!slot.store) {
    slot.redis = std::make_unique<RedisConnection>(redis_options_);
    slot.store = std::make_unique<JobStore>(*slot.redis, store_options_);
  }
  return *slot.store;
}

Result<CreateOutcome> PerThreadJobStore::Create(std::span<const NewJob> jobs,
                                                std::optional<IdempotencyClaim> claim) {
  return Local().Create(jobs, claim);
}
Status PerThreadJobStore::Remove(std::span<const std::string> ids) { return Local().Remove(ids); }
Status PerThreadJobStore::ForgetIdempotencyKey(std::string_view key) {
  return Local().ForgetIdempotencyKey(key);
}
Result<std::optional<JobRecord>> PerThreadJobStore::Get(std::string_view id) {
  return Local().Get(id);
}
Result<std::vector<JobRecord>> PerThreadJobStore::Recent(std::size_t limit) {
  return Local().Recent(limit);
}
Result<std::optional<std::string>> PerThreadJobStore::GetBlob(std::string_view id) {
  return Local().GetBlob(id);
}
Result<CancelOutcome> PerThreadJobStore::Cancel(std::string_view id, JobStatus* status_out) {
  return Local().Cancel(id, status_out);
}
Status PerThreadJobStore::Ping() { return Local().Ping(); }

}  // namespace batchq
