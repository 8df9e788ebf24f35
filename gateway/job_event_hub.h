#pragma once
// The open event streams of one gateway (GET /v1/jobs/{id}/events, GET /v1/events) by
// the job or tenant they watch, fed with the change channel's notices (job_change.h) on
// the CompletionListener's thread. No thread per stream: a watcher is called, does a
// little work and returns. Thread-safe.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/error.h"
#include "common/job_change.h"
#include "common/job_record.h"

namespace batchq {

class JobEventHub {
 public:
  // One open stream. Its calls come from several threads, never under the hub's lock;
  // each returns false when the stream is closed or over, and the hub forgets it.
  class Watcher {
   public:
    virtual ~Watcher() = default;
    // A change it watches. `record`: for a job watcher and a terminal change, the job's
    // record read after it (null when it could not be read, and for tenant watchers).
    virtual bool OnChange(const JobChange& change, const JobRecord* record) = 0;
    // Notices may have been missed (the channel was interrupted). `record`: a job
    // watcher's job as it is now (null when it could not be read, and for tenant watchers).
    virtual bool OnGap(const JobRecord* record) = 0;
    virtual bool OnHeartbeat() = 0;
  };
  using ReadRecords = std::function<Result<std::vector<std::optional<JobRecord>>>(
      std::span<const std::string> ids)>;

  // `read` reads records on the notifying thread; `heartbeat` is the interval of Tick's
  // heartbeats.
  JobEventHub(ReadRecords read, std::chrono::milliseconds heartbeat);

  void WatchJob(const std::string& id, std::shared_ptr<Watcher> watcher);
  // kEveryTenant watches every tenant's changes.
  void WatchTenant(const std::string& tenant, std::shared_ptr<Watcher> watcher);
  static constexpr std::string_view kEveryTenant = "*";
  // One notice's changes.
  void Publish(std::span<const JobChange> changes);
  void Gap();
  // Heartbeats every watcher when the interval has passed since the last ones.
  void Tick(std::chrono::steady_clock::time_point now);
  std::size_t watchers() const;

 private:
  using Table = std::unordered_multimap<std::string, std::shared_ptr<Watcher>>;
  struct Call {
    std::shared_ptr<Watcher> watcher;
    bool job = false;
    const JobChange* change = nullptr;
  };
  // Forgets the watchers that said they are done.
  void Forget(const std::vector<Watcher*>& done);
  // The records of the watched jobs among `ids`, by id; empty when unreadable.
  std::unordered_map<std::string, JobRecord> Read(std::vector<std::string> ids);

  const ReadRecords read_;
  const std::chrono::milliseconds heartbeat_;
  mutable std::mutex mutex_;
  Table by_job_;
  Table by_tenant_;
  std::chrono::steady_clock::time_point last_heartbeat_{};
};

}  // namespace batchq
