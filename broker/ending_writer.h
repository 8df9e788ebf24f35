#pragma once
// Writes the job endings the broker decides (expired, worker_lost) to Redis on a
// thread of its own, so that the broker's event loop never waits on Redis. What cannot
// be written yet is retried every `retry_interval` until it is. Enqueue() and
// TakeWritten() are thread-safe.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "broker/broker_core.h"
#include "common/job_store.h"
#include "common/redis_connection.h"

namespace batchq {

class EndingWriter {
 public:
  EndingWriter(RedisConnection::Options redis, JobStore::Options store,
               std::chrono::milliseconds retry_interval);
  ~EndingWriter();  // stops and joins; endings not written yet are left to the next sweep
  EndingWriter(const EndingWriter&) = delete;
  EndingWriter& operator=(const EndingWriter&) = delete;

  void Enqueue(JobEnding ending);
  // The ids of the endings of `epoch` written since the last call. Those of other
  // epochs (an earlier term of this broker) are dropped: a new term's core must not
  // forget jobs it took on again because an old term's ending was fenced off.
  std::vector<std::string> TakeWritten(std::uint64_t epoch);

 private:
  void Loop();

  RedisConnection redis_;
  JobStore store_;
  const std::chrono::milliseconds retry_interval_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<JobEnding> queue_;
  std::vector<std::pair<std::uint64_t, std::vector<std::string>>> written_;  // by epoch
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace batchq
