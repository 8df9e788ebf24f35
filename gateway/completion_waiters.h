#pragma once
// Long-poll waiters by job id. A waiter is a callback, not a thread: it is called
// once when the job's completion notice arrives (or when every waiter is woken after
// the notice stream was interrupted), with the job's ended record when the notice
// carried one (job_change.h), else null. Thread-safe.
//
// It also knows which jobs are unfinished without asking Redis: those this gateway
// created (Expect) whose end it has not been told of since, while the notices flowed
// without a break. A long-poll of such a job skips its first read, which could only find
// it queued or running. The promise is one-sided: a job not held may be unfinished too.
// If a notice is missed anyway, the wait reads at its end as before: only late, never
// wrong.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/job_record.h"
#include "common/string_view_hash.h"

namespace batchq {

class CompletionWaiters {
 public:
  using Callback = std::function<void(std::shared_ptr<const JobRecord> record)>;
  // Makes the record a notice carried (null: none). Called at most once per Notify, and
  // only when the job has waiters: parsing it costs more than the rest of the notice.
  using RecordSource = std::function<std::shared_ptr<const JobRecord>()>;

  // `expected_capacity`: the most unfinished jobs held; past it the oldest are
  // forgotten (their long-polls read first, as for any other job).
  explicit CompletionWaiters(std::size_t expected_capacity = 65536);

  // Returns a token for Remove(). The callback runs on the notifying thread, outside
  // the lock, and must only hand work off.
  std::uint64_t Add(std::string id, Callback callback);
  // Forgets a waiter (its own timeout fired first). Harmless if already notified.
  void Remove(std::uint64_t token);
  // Wakes the job's waiters. True when the job was held as unfinished (created here, and
  // its end not told before) and nobody waited for it: its client has yet to learn of
  // the end, and will likely ask soon.
  bool Notify(std::string_view id, const RecordSource& record = nullptr);
  // Wakes every waiter, e.g. after notices may have been missed.
  void NotifyAll();
  std::size_t size() const;

  // Holds the job `id` of `tenant` as unfinished until its end is notified. Call it
  // before the job can end: before it is written, since a broker that takes over runs
  // the queued jobs it finds in Redis. Held after its end, a job would keep every wait
  // for it waiting to the end. Refused (false) while the notices are not known to flow.
  bool Expect(std::string id, std::string tenant);
  // The tenant of a job held as unfinished; nothing when it is not held.
  std::optional<std::string> ExpectedTenant(std::string_view id) const;
  // Whether notices flow: the listener says true once subscribed, and false as soon as
  // the subscription breaks, which forgets every job held (their ends may be missed).
  void Listening(bool listening);

 private:
  struct Waiter {
    std::string id;
    Callback callback;
  };
  mutable std::mutex mutex_;
  std::uint64_t next_token_ = 1;
  // Searched with the notice's view of an id: no copy of it per notice.
  std::unordered_multimap<std::string, std::uint64_t, StringViewHash, std::equal_to<>> by_id_;
  std::unordered_map<std::uint64_t, Waiter> by_token_;
  const std::size_t expected_capacity_;
  bool listening_ = false;
  std::unordered_map<std::string, std::string, StringViewHash, std::equal_to<>>
      expected_;                            // id -> tenant
  std::deque<std::string> expected_order_;  // oldest first; may name jobs since ended
};

}  // namespace batchq
