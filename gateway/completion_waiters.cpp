#include "gateway/completion_waiters.h"

#include <vector>

namespace batchq {

CompletionWaiters::CompletionWaiters(std::size_t expected_capacity)
    : expected_capacity_(expected_capacity) {}

std::uint64_t CompletionWaiters::Add(std::string id, Callback callback) {
  std::lock_guard lock(mutex_);
  const std::uint64_t token = next_token_++;
  by_id_.emplace(id, token);
  by_token_.emplace(token, Waiter{std::move(id), std::move(callback)});
  return token;
}

void CompletionWaiters::Remove(std::uint64_t token) {
  std::lock_guard lock(mutex_);
  const auto it = by_token_.find(token);
  if (it == by_token_.end()) return;
  auto [first, last] = by_id_.equal_range(it->second.id);
  for (auto entry = first; entry != last; ++entry) {
    if (entry->second == token) {
      by_id_.erase(entry);
      break;
    }
  }
  by_token_.erase(it);
}

bool CompletionWaiters::Notify(std::string_view id, const RecordSource& source) {
  std::vector<Callback> ready;
  bool held = false;
  {
    std::lock_guard lock(mutex_);
    // Under the same lock as Add: a long-poll that finds the job held has its waiter
    // in place before this notice looks for waiters.
    if (const auto it = expected_.find(id); it != expected_.end()) {
      expected_.erase(it);
      held = true;
    }
    auto [first, last] = by_id_.equal_range(id);
    for (auto entry = first; entry != last; ++entry) {
      auto node = by_token_.extract(entry->second);
      if (!node.empty()) ready.push_back(std::move(node.mapped().callback));
    }
    by_id_.erase(first, last);
  }
  if (ready.empty()) return held;
  const std::shared_ptr<const JobRecord> record = source ? source() : nullptr;
  for (auto& callback : ready) callback(record);
  return false;
}

void CompletionWaiters::NotifyAll() {
  std::vector<Callback> ready;
  {
    std::lock_guard lock(mutex_);
    for (auto& [token, waiter] : by_token_) ready.push_back(std::move(waiter.callback));
    by_token_.clear();
    by_id_.clear();
  }
  for (auto& callback : ready) callback(nullptr);
}

std::size_t CompletionWaiters::size() const {
  std::lock_guard lock(mutex_);
  return by_token_.size();
}

bool CompletionWaiters::Expect(std::string id, std::string tenant) {
  std::lock_guard lock(mutex_);
  if (!listening_ || expected_capacity_ == 0) return false;
  while (expected_order_.size() >= expected_capacity_) {
    expected_.erase(expected_order_.front());
    expected_order_.pop_front();
  }
  expected_order_.push_back(id);
  expected_.insert_or_assign(std::move(id), std::move(tenant));
  return true;
}

std::optional<std::string> CompletionWaiters::ExpectedTenant(std::string_view id) const {
  std::lock_guard lock(mutex_);
  const auto it = expected_.find(id);
  if (it == expected_.end()) return std::nullopt;
  return it->second;
}

void CompletionWaiters::Listening(bool listening) {
  std::lock_guard lock(mutex_);
  listening_ = listening;
  if (!listening) {
    expected_.clear();
    expected_order_.clear();
  }
}

}  // namespace batchq
