#pragma once
// Group commit of new jobs: submits queue here from the I/O threads, and one thread of
// its own writes what has gathered while Redis was busy with the last group, in one
// MULTI/EXEC for every submit without an Idempotency-Key (those run their own script
// each), followed by one WAIT when replicas must have them. So no I/O thread waits on
// Redis for a submit, and Redis takes one round trip for many of them. `done` runs on
// this thread after Redis answered for the submit's group: a 202 still means durable.
// Bounded: past `max_queued_jobs` waiting, Commit refuses at once.
// Thread-safe. Stop() (or the destructor) writes what is queued, calls it back, and
// joins the thread; call it while what the callbacks touch still exists.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "gateway/job_commit_port.h"
#include "gateway/job_store_port.h"

namespace batchq {

class GroupCommit : public JobCommitPort {
 public:
  struct Options {
    std::size_t max_queued_jobs = 16384;
    // Every job of a group reaches this many replicas (one WAIT, at most replicas_wait)
    // before any `done` runs; 0: no WAIT.
    int replicas_ack = 0;
    std::chrono::milliseconds replicas_wait{1000};
    // Run on the commit thread just before and just after each group's `done` calls:
    // the gateway brackets them in a burst of its broker link (broker_port.h), so that
    // the submits they forward leave together. Either may be empty.
    std::function<void()> before_dones = nullptr;
    std::function<void()> after_dones = nullptr;
  };
  // `store` must outlive this; only this object's thread calls it.
  GroupCommit(Options options, JobStorePort& store);
  ~GroupCommit() override;
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  bool Commit(std::span<const NewJob> jobs, std::optional<IdempotencyClaim> claim,
              Done done) override;
  // Idempotent; later commits are refused.
  void Stop();

  struct Counts {
    std::uint64_t groups = 0;     // groups written (one MULTI/EXEC each, at most)
    std::uint64_t submits = 0;    // submits committed
    std::uint64_t refused = 0;    // submits refused for the bound
    std::size_t queued_jobs = 0;  // waiting now
  };
  Counts counts() const;

 private:
  struct Entry {
    std::span<const NewJob> jobs;
    std::optional<IdempotencyClaim> claim;
    Done done;
  };
  void Run();
  // One group's writes (and WAIT); the outcome of each of its submits, in order.
  std::vector<Outcome> Write(const std::vector<Entry>& group);

  const Options options_;
  JobStorePort& store_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Entry> queue_;
  Counts counts_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace batchq
