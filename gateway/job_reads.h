#pragma once
// The routes that read or cancel one job, or list the newest: GET /v1/jobs/{id}
// (with ?wait_ms long-polls), GET /v1/jobs/{id}/result, DELETE /v1/jobs/{id} and
// GET /v1/jobs?limit=N. A long-poll holds a timer and a waiter entry, never a thread;
// every decision about one wait is taken on its own strand, so exactly one answer goes
// out. Thread-safe: the methods may be called from any I/O thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>

#include "common/http_types.h"
#include "gateway/broker_port.h"
#include "gateway/completion_waiters.h"
#include "gateway/job_store_port.h"

namespace batchq {

class JobReads {
 public:
  struct Options {
    std::chrono::milliseconds max_wait{60000};  // upper bound of ?wait_ms
  };
  static constexpr std::int64_t kDefaultListLimit = 20;
  static constexpr std::int64_t kMaxListLimit = 200;

  // Everything passed in must outlive this object.
  JobReads(boost::asio::io_context& io, Options options, JobStorePort& store, BrokerPort& broker,
           CompletionWaiters& waiters);

  void Get(std::string id, std::string_view query, Respond respond);
  void List(std::string_view query, Respond respond);
  void GetResult(const std::string& id, Respond respond);
  void Cancel(const std::string& id, Respond respond);

 private:
  struct WaitState;
  void FinishWait(const std::shared_ptr<WaitState>& state);
  // The job's JSON, 404 or 503, from one read of the store.
  HttpReply JobReply(const Result<std::optional<JobRecord>>& record);

  boost::asio::io_context& io_;
  const Options options_;
  JobStorePort& store_;
  BrokerPort& broker_;
  CompletionWaiters& waiters_;
};

// Reads one non-negative integer query parameter; nullopt when absent.
Result<std::optional<std::int64_t>> QueryInt(std::string_view query, std::string_view name);

}  // namespace batchq
