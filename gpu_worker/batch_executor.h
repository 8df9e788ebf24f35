#pragma once
// Runs batches one after another on a private thread: claims the jobs in Redis
// (fenced by attempt), runs the handler, writes every result, then reports the
// batch done. Batches wait in a queue, so with 2 credits the next batch is already
// here when the current one ends. Enqueue/TakeDone are thread-safe.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/job_store.h"
#include "common/redis_connection.h"
#include "common/wake_signal.h"
#include "common/wire.h"
#include "gpu_worker/handler.h"

namespace batchq {

class BatchExecutor {
 public:
  struct Options {
    RedisConnection::Options redis;
    JobStore::Options store;
    std::string worker_name;
  };
  using Handlers = std::map<std::string, std::unique_ptr<Handler>, std::less<>>;

  // `done_signal` is notified whenever a finished batch can be taken; it must outlive
  // the executor. Takes ownership of the handlers.
  BatchExecutor(Options options, Handlers handlers, WakeSignal& done_signal);
  ~BatchExecutor();  // finishes the running batch, drops queued ones, joins

  void Enqueue(wire::Batch batch);
  std::vector<wire::Done> TakeDone();
  // Returns once the running batch is finished and written; queued batches are
  // dropped (the broker re-queues them when this worker disconnects). Idempotent.
  void Stop();

 private:
  void Loop();
  void Execute(wire::Batch& batch);

  const Options options_;
  Handlers handlers_;
  WakeSignal& done_signal_;
  RedisConnection redis_;
  JobStore store_;

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<wire::Batch> queue_;
  std::vector<wire::Done> done_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace batchq
