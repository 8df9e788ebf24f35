#pragma once
// POST /v1/jobs/{id}:retry: an ended job (failed, expired or cancelled) runs again under
// the same id. Redis first (JobStore::Requeue: the attempt goes to the record's history,
// the job is pending again, so it is durable before any answer), then the broker. A
// broker that refuses it (a full queue, a quota) has the job ended again with that
// refusal, answered with its status and Retry-After; one that does not answer leaves it
// pending, for the broker's sweep. Thread-safe: Handle may be called from any I/O thread.

#include <chrono>
#include <functional>
#include <string>

#include "common/http_types.h"
#include "gateway/broker_port.h"
#include "gateway/caller.h"
#include "gateway/job_store_port.h"

namespace batchq {

class JobRetry {
 public:
  using Post = std::function<void(std::function<void()>)>;

  // `store` and `broker` must outlive this object; `post` runs a task on an I/O thread.
  JobRetry(JobStorePort& store, BrokerPort& broker, std::chrono::milliseconds broker_timeout,
           Post post);

  // 202 with the queued job; 404 for a job the caller may not see; 409 not_retryable for
  // one that has not ended or succeeded.
  void Handle(const std::string& id, const Caller& caller, Respond respond);

 private:
  void OnVerdict(const std::string& id, Result<std::vector<wire::Verdict>> verdicts,
                 HttpReply queued, Respond respond);

  JobStorePort& store_;
  BrokerPort& broker_;
  const std::chrono::milliseconds broker_timeout_;
  const Post post_;
};

}  // namespace batchq
