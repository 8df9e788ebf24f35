#pragma once
// The ended records of jobs this gateway created, kept a short while after their
// completion notice carried them, so that the read that usually follows a submit (a
// poll, or a long-poll that arrives after the job ended) is answered without Redis.
//
// Only succeeded records are kept: after that, nothing but their expiry changes them (a
// retry queues again only failed, expired and cancelled jobs), so an answer from here is
// the same as a read of Redis. `hold` must stay well below the records' TTL, which
// counts from the end. Bounded by count and by bytes: the oldest go first. Time is an
// argument. Thread-safe.

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/job_record.h"
#include "common/string_view_hash.h"

namespace batchq {

class RecentEndings {
 public:
  using Clock = std::chrono::steady_clock;
  struct Limits {
    std::chrono::milliseconds hold{1000};  // how long a record is kept; 0: none is
    std::size_t max_records = 16384;
    std::size_t max_bytes = 32u << 20;  // of the records' strings (Footprint)
  };

  explicit RecentEndings(Limits limits);

  // Keeps the record of a job that ended at `now` (when the notice came), if it succeeded;
  // null and other statuses are ignored.
  void Keep(std::shared_ptr<const JobRecord> record, Clock::time_point now);
  // The job's record if it was kept less than `hold` before `now`; else null. Records
  // past `hold` are dropped by the next Keep.
  std::shared_ptr<const JobRecord> Find(std::string_view id, Clock::time_point now);
  std::size_t size() const;

  // What a record is counted as against max_bytes: its strings and itself.
  static std::size_t Footprint(const JobRecord& record);

 private:
  struct Kept {
    std::shared_ptr<const JobRecord> record;
    Clock::time_point at;
  };
  // Drops the oldest while they are older than `hold` or past a bound. Under the lock.
  void Trim(Clock::time_point now);

  const Limits limits_;
  mutable std::mutex mutex_;
  // Looked up by a view of the id, without making a string of it.
  std::unordered_map<std::string, Kept, StringViewHash, std::equal_to<>> by_id_;
  // Oldest first, with the time each was kept: an id kept again appears twice, and an
  // entry that no longer matches by_id_'s time is skipped.
  std::deque<std::pair<std::string, Clock::time_point>> order_;
  std::size_t bytes_ = 0;
};

}  // namespace batchq
