#include "gateway/recent_endings.h"

namespace batchq {

RecentEndings::RecentEndings(Limits limits) : limits_(limits) {}

std::size_t RecentEndings::Footprint(const JobRecord& record) {
  return sizeof(JobRecord) + record.id.size() + record.type.size() + record.tenant.size() +
         record.input.size() + record.batch_id.size() + record.close_reason.size() +
         record.worker.size() + record.result.size() + record.result_type.size() +
         record.error_code.size() + record.error_message.size() + record.storage.size() +
         record.cancelled_by.size() + record.history.size() + record.callback_url.size() +
         record.webhook_key.size();
}

void RecentEndings::Keep(std::shared_ptr<const JobRecord> record, Clock::time_point now) {
  if (!record || record->status != JobStatus::kSucceeded || limits_.hold.count() <= 0) return;
  const std::size_t bytes = Footprint(*record);
  if (bytes > limits_.max_bytes) return;
  std::lock_guard lock(mutex_);
  if (const auto it = by_id_.find(record->id); it != by_id_.end()) {
    bytes_ -= Footprint(*it->second.record);
    by_id_.erase(it);
  }
  order_.emplace_back(record->id, now);
  bytes_ += bytes;
  std::string id = record->id;
  by_id_.insert_or_assign(std::move(id), Kept{std::move(record), now});
  Trim(now);
}

std::shared_ptr<const JobRecord> RecentEndings::Find(std::string_view id, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  // One lookup: the age is checked on the entry found, and Keep drops the old ones.
  const auto it = by_id_.find(id);
  if (it == by_id_.end() || now - it->second.at >= limits_.hold) return nullptr;
  return it->second.record;
}

std::size_t RecentEndings::size() const {
  std::lock_guard lock(mutex_);
  return by_id_.size();
}

void RecentEndings::Trim(Clock::time_point now) {
  while (!order_.empty()) {
    const auto& [id, at] = order_.front();
    const auto it = by_id_.find(id);
    const bool current = it != by_id_.end() && it->second.at == at;
    const bool over = by_id_.size() > limits_.max_records || bytes_ > limits_.max_bytes;
    // An entry for a record kept again since is stale: drop it, whatever its age.
    if (current && !over && now - at < limits_.hold) break;
    if (current) {
      bytes_ -= Footprint(*it->second.record);
      by_id_.erase(it);
    }
    order_.pop_front();
  }
}

}  // namespace batchq
