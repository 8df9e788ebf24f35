#include "gateway/job_event_hub.h"

#include <algorithm>
#include <unordered_set>

namespace batchq {

JobEventHub::JobEventHub(ReadRecords read, std::chrono::milliseconds heartbeat)
    : read_(std::move(read)), heartbeat_(heartbeat) {}

void JobEventHub::WatchJob(const std::string& id, std::shared_ptr<Watcher> watcher) {
  std::lock_guard lock(mutex_);
  by_job_.emplace(id, std::move(watcher));
}

void JobEventHub::WatchTenant(const std::string& tenant, std::shared_ptr<Watcher> watcher) {
  std::lock_guard lock(mutex_);
  by_tenant_.emplace(tenant, std::move(watcher));
}

std::size_t JobEventHub::watchers() const {
  std::lock_guard lock(mutex_);
  return by_job_.size() + by_tenant_.size();
}

void JobEventHub::Forget(const std::vector<Watcher*>& done) {
  if (done.empty()) return;
  // One pass over the tables per notice, however many streams it ended (a set, not a
  // search of `done` per entry: thousands of streams may end on one notice).
  const std::unordered_set<const Watcher*> gone(done.begin(), done.end());
  std::lock_guard lock(mutex_);
  for (Table* table : {&by_job_, &by_tenant_}) {
    std::erase_if(*table, [&gone](const auto& entry) { return gone.contains(entry.second.get()); });
  }
}

std::unordered_map<std::string, JobRecord> JobEventHub::Read(std::vector<std::string> ids) {
  std::unordered_map<std::string, JobRecord> records;
  if (ids.empty()) return records;
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  auto read = read_(ids);
  if (!read) return records;
  for (std::size_t i = 0; i < ids.size() && i < read->size(); ++i) {
    if ((*read)[i]) records.emplace(ids[i], std::move(*(*read)[i]));
  }
  return records;
}

void JobEventHub::Publish(std::span<const JobChange> changes) {
  std::vector<Call> calls;
  std::vector<std::string> ended;  // watched jobs whose records the watchers need
  {
    std::lock_guard lock(mutex_);
    if (by_job_.empty() && by_tenant_.empty()) return;
    for (const JobChange& change : changes) {
      auto [first, last] = by_job_.equal_range(change.id);
      if (first != last && IsTerminal(change.status)) ended.push_back(change.id);
      for (auto it = first; it != last; ++it) calls.push_back({it->second, true, &change});
      for (const std::string_view tenant : {std::string_view(change.tenant), kEveryTenant}) {
        auto [tenant_first, tenant_last] = by_tenant_.equal_range(std::string(tenant));
        for (auto it = tenant_first; it != tenant_last; ++it) {
          calls.push_back({it->second, false, &change});
        }
      }
    }
  }
  const auto records = Read(std::move(ended));
  std::vector<Watcher*> done;
  for (const Call& call : calls) {
    const JobRecord* record = nullptr;
    if (call.job && IsTerminal(call.change->status)) {
      const auto it = records.find(call.change->id);
      if (it != records.end()) record = &it->second;
    }
    if (!call.watcher->OnChange(*call.change, record)) done.push_back(call.watcher.get());
  }
  Forget(done);
}

void JobEventHub::Gap() {
  std::vector<std::pair<std::string, std::shared_ptr<Watcher>>> jobs;
  std::vector<std::shared_ptr<Watcher>> tenants;
  {
    std::lock_guard lock(mutex_);
    jobs.assign(by_job_.begin(), by_job_.end());
    for (const auto& entry : by_tenant_) tenants.push_back(entry.second);
  }
  std::vector<std::string> ids;
  for (const auto& entry : jobs) ids.push_back(entry.first);
  const auto records = Read(std::move(ids));
  std::vector<Watcher*> done;
  for (const auto& [id, watcher] : jobs) {
    const auto it = records.find(id);
    if (!watcher->OnGap(it == records.end() ? nullptr : &it->second)) done.push_back(watcher.get());
  }
  for (const auto& watcher : tenants) {
    if (!watcher->OnGap(nullptr)) done.push_back(watcher.get());
  }
  Forget(done);
}

void JobEventHub::Tick(std::chrono::steady_clock::time_point now) {
  std::vector<std::shared_ptr<Watcher>> all;
  {
    std::lock_guard lock(mutex_);
    if (now - last_heartbeat_ < heartbeat_) return;
    last_heartbeat_ = now;
    for (const Table* table : {&by_job_, &by_tenant_}) {
      for (const auto& entry : *table) all.push_back(entry.second);
    }
  }
  std::vector<Watcher*> done;
  for (const auto& watcher : all) {
    if (!watcher->OnHeartbeat()) done.push_back(watcher.get());
  }
  Forget(done);
}

}  // namespace batchq
