#pragma once
// Group read of job records, the reading side of the group commit: the routes' reads
// (a long-poll's first read and its read at the end, the waits of POST ?wait_ms) queue
// here from the I/O threads, and one thread of its own reads all that gathered while
// Redis was busy with the last group, in one pipeline (JobStorePort::GetMany). So no I/O
// thread waits on Redis for them, and Redis takes one round trip for many. Bounded:
// past `max_queued_reads` ids waiting, Read refuses at once; a group reads at most
// `max_group_ids` ids, so one long group does not hold the next reads back.
// Thread-safe. Stop() (or the destructor) reads what is queued, calls it back, and joins
// the thread; call it while what the callbacks touch still exists.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "gateway/job_read_port.h"
#include "gateway/job_store_port.h"

namespace batchq {

class GroupRead : public JobReadPort {
 public:
  struct Options {
    std::size_t max_queued_reads = 65536;
    std::size_t max_group_ids = 1024;
  };
  // `store` must outlive this; only this object's thread calls it.
  GroupRead(Options options, JobStorePort& store);
  ~GroupRead() override;
  GroupRead(const GroupRead&) = delete;
  GroupRead& operator=(const GroupRead&) = delete;

  bool Read(std::vector<std::string> ids, Done done) override;
  // Idempotent; later reads are refused.
  void Stop();

  struct Counts {
    std::uint64_t groups = 0;  // pipelines sent
    std::uint64_t reads = 0;   // reads answered
    std::uint64_t refused = 0;
  };
  Counts counts() const;

 private:
  struct Entry {
    std::vector<std::string> ids;
    Done done;
  };
  void Run();
  // Reads one group's ids in one pipeline and calls each entry back with its share.
  void ReadGroup(std::vector<Entry>& group);

  const Options options_;
  JobStorePort& store_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Entry> queue_;
  std::size_t queued_ids_ = 0;
  Counts counts_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace batchq
