#pragma once
// The HTTP API of DESIGN.md: routes, input checks, durable writes before 202,
// forwarding to the broker, status reads and long-polls.
// Handle() may be called from any io thread; each thread gets its own Redis
// connection. Long-polls hold a timer and a waiter entry, never a thread.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include <boost/asio/io_context.hpp>

#include "common/http_types.h"
#include "common/job_store.h"
#include "common/redis_connection.h"
#include "gateway/broker_link.h"
#include "gateway/completion_waiters.h"
#include "gateway/http_metrics.h"

namespace batchq {

class JobApi {
 public:
  struct Options {
    RedisConnection::Options redis;
    JobStore::Options store;
    std::size_t max_batch_jobs = 1000;
    std::chrono::milliseconds submit_timeout{2000};
    std::chrono::milliseconds max_wait{60000};
    // Fault injection for reliability tests only: exit the process right after the
    // Nth submit is durable and before it is forwarded, as a crash there would. 0: off.
    std::uint64_t fault_exit_after_persist = 0;
  };

  // `io`, `broker`, `waiters` and `registry` must outlive the API. Every answer is
  // counted in `registry` (HttpMetrics), which GET /metrics serves.
  JobApi(boost::asio::io_context& io, Options options, BrokerLink& broker,
         CompletionWaiters& waiters, prometheus::Registry& registry);

  void Handle(HttpRequestIn request, Respond respond);

 private:
  struct WaitState;
  static constexpr std::int64_t kDefaultListLimit = 20;
  static constexpr std::int64_t kMaxListLimit = 200;

  JobStore& Store();
  // Handle() minus the metrics: picks the route and answers.
  void Route(HttpRequestIn request, Respond respond);
  void Submit(const HttpRequestIn& request, Respond respond, bool batch);
  void GetJob(std::string id, std::string_view query, Respond respond);
  // GET /v1/jobs?limit=N: the newest jobs first, whatever their status.
  void ListJobs(std::string_view query, Respond respond);
  // Answers a retried submit with the job its Idempotency-Key already names.
  void Replay(const std::string& id, Respond respond);
  void GetResult(const std::string& id, Respond respond);
  void Cancel(const std::string& id, Respond respond);
  void Types(Respond respond);
  void Ready(Respond respond);
  void FinishWait(const std::shared_ptr<WaitState>& state);

  boost::asio::io_context& io_;
  const Options options_;
  BrokerLink& broker_;
  CompletionWaiters& waiters_;
  std::atomic<std::uint64_t> persisted_{0};
  prometheus::Registry& registry_;
  HttpMetrics http_metrics_;
};

}  // namespace batchq
