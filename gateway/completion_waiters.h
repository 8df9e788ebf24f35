#pragma once
// Long-poll waiters by job id. A waiter is a callback, not a thread: it is called
// once when the job's completion notice arrives (or when every waiter is woken after
// the notice stream was interrupted), with the job's ended record when the notice
// carried one (job_change.h), else null. Thread-safe.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/job_record.h"

namespace batchq {

class CompletionWaiters {
 public:
  using Callback = std::function<void(std::shared_ptr<const JobRecord> record)>;
  // Makes the record a notice carried (null: none). Called at most once per Notify, and
  // only when the job has waiters: parsing it costs more than the rest of the notice.
  using RecordSource = std::function<std::shared_ptr<const JobRecord>()>;

  // Returns a token for Remove(). The callback runs on the notifying thread, outside
  // the lock, and must only hand work off.
  std::uint64_t Add(std::string id, Callback callback);
  // Forgets a waiter (its own timeout fired first). Harmless if already notified.
  void Remove(std::uint64_t token);
  void Notify(std::string_view id, const RecordSource& record = nullptr);
  // Wakes every waiter, e.g. after notices may have been missed.
  void NotifyAll();
  std::size_t size() const;

 private:
  struct Waiter {
    std::string id;
    Callback callback;
  };
  mutable std::mutex mutex_;
  std::uint64_t next_token_ = 1;
  std::unordered_multimap<std::string, std::uint64_t> by_id_;
  std::unordered_map<std::uint64_t, Waiter> by_token_;
};

}  // namespace batchq
