#include "gateway/job_retry.h"

#include <fmt/format.h>

#include "gateway/api_reply.h"
#include "gateway/job_json.h"

namespace batchq {
namespace {

// The job as SUBMIT carries it: it waits from now, not from its first creation.
wire::SubmitJob WireJob(const JobRecord& record, const Caller& caller) {
  wire::SubmitJob job;
  job.id = record.id;
  job.type = record.type;
  job.priority = record.priority;
  job.attempts = record.attempts;
  job.input = record.input;
  job.created_us = NowWallMicros().count();
  job.timeout_ms = record.timeout_ms;
  job.tenant = record.tenant;
  // An admin retrying another tenant's job queues it under that tenant's share.
  if (record.tenant == caller.tenant) {
    job.tenant_weight = caller.weight;
    job.tenant_max_queued = caller.max_queued;
  }
  return job;
}

}  // namespace

JobRetry::JobRetry(JobStorePort& store, BrokerPort& broker,
                   std::chrono::milliseconds broker_timeout, Post post)
    : store_(store), broker_(broker), broker_timeout_(broker_timeout), post_(std::move(post)) {}

void JobRetry::Handle(const std::string& id, const Caller& caller, Respond respond) {
  auto before = store_.Get(id);
  if (!before) return respond(Unavailable(before.error()));
  if (!*before || !caller.MaySee(**before)) return respond(ErrorReply(ErrorCode::kNotFound));
  if (!broker_.alive()) {
    return respond(
        Unavailable(Error{ErrorCode::kBrokerUnavailable, "The broker is not reachable."}));
  }
  JobStatus status = JobStatus::kQueued;
  auto outcome = store_.Requeue(id, &status);
  if (!outcome) return respond(Unavailable(outcome.error()));
  if (*outcome == RequeueOutcome::kNotFound) return respond(ErrorReply(ErrorCode::kNotFound));
  if (*outcome == RequeueOutcome::kNotEnded) {
    return respond(ErrorReply(
        ErrorCode::kNotRetryable,
        fmt::format("The job is {}; only failed, expired and cancelled jobs can be retried.",
                    ToString(status))));
  }
  auto record = store_.Get(id);
  if (!record || !*record) {
    // Queued in Redis all the same: the broker's sweep takes it.
    return respond(JsonReply(202, fmt::format(R"({{"id":"{}","status":"queued"}})", id)));
  }
  HttpReply queued = JsonReply(202, RenderJob(**record));
  queued.headers.emplace_back("Location", "/v1/jobs/" + id);
  broker_.Submit({WireJob(**record, caller)}, broker_timeout_,
                 [this, id, queued = std::move(queued), respond = std::move(respond)](
                     Result<std::vector<wire::Verdict>> verdicts) mutable {
                   post_([this, id = std::move(id), verdicts = std::move(verdicts),
                          queued = std::move(queued), respond = std::move(respond)]() mutable {
                     OnVerdict(id, std::move(verdicts), std::move(queued), std::move(respond));
                   });
                 });
}

void JobRetry::OnVerdict(const std::string& id, Result<std::vector<wire::Verdict>> verdicts,
                         HttpReply queued, Respond respond) {
  // No answer: the job stays pending in Redis, and the broker's sweep queues it.
  if (!verdicts || verdicts->empty() || verdicts->front().code.empty()) {
    return respond(std::move(queued));
  }
  const wire::Verdict& verdict = verdicts->front();
  const Error refusal{ParseErrorCode(verdict.code).value_or(ErrorCode::kBrokerUnavailable),
                      verdict.message};
  if (auto withdrawn = store_.WithdrawRequeued(id, refusal.code, refusal.message); !withdrawn) {
    // Still queued in Redis: the sweep runs it, so the retry did happen.
    return respond(std::move(queued));
  }
  HttpReply reply = ErrorReply(refusal);
  if (verdict.retry_after_ms > 0) {
    AddRetryAfter(reply, std::chrono::milliseconds(verdict.retry_after_ms));
  }
  respond(std::move(reply));
}

}  // namespace batchq
