#pragma once
// In-memory stand-ins for the gateway's two ports, so its handlers are unit-tested
// without processes. Not thread-safe: the tests call from one thread.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "gateway/broker_port.h"
#include "gateway/job_commit_port.h"
#include "gateway/job_store_port.h"

namespace batchq::test {

class FakeStore : public JobStorePort {
 public:
  Result<CreateOutcome> Create(std::span<const NewJob> jobs,
                               std::optional<IdempotencyClaim> claim) override {
    if (down) return Fail(ErrorCode::kRedisUnavailable);
    if (claim) {
      const std::string key(claim->key);
      if (const auto it = keys.find(key); it != keys.end()) {
        return CreateOutcome{false, it->second.first, it->second.second == claim->fingerprint};
      }
      keys[key] = {jobs[0].id, std::string(claim->fingerprint)};
    }
    for (const auto& job : jobs) records[job.id] = job;
    return CreateOutcome{true, jobs[0].id, true};
  }
  Status CreateGroup(std::span<const NewJob* const> group) override {
    if (down) return Fail(ErrorCode::kRedisUnavailable);
    ++groups;
    for (const NewJob* job : group) records[job->id] = *job;
    return Ok();
  }
  Status Remove(std::span<const std::string> ids) override {
    if (down || fail_remove) return Fail(ErrorCode::kRedisUnavailable);
    for (const auto& id : ids) records.erase(id);
    return Ok();
  }
  Status ForgetIdempotencyKey(std::string_view key) override {
    if (down) return Fail(ErrorCode::kRedisUnavailable);
    keys.erase(std::string(key));
    return Ok();
  }
  Result<std::optional<JobRecord>> Get(std::string_view id) override {
    if (down) return Fail(ErrorCode::kRedisUnavailable);
    const auto it = records.find(std::string(id));
    if (it == records.end()) return std::optional<JobRecord>();
    return std::optional<JobRecord>(it->second);
  }
  Result<std::vector<std::optional<JobRecord>>> GetMany(std::span<const std::string> ids) override {
    std::vector<std::optional<JobRecord>> out;
    for (const auto& id : ids) {
      auto one = Get(id);
      if (!one) return std::unexpected(one.error());
      out.push_back(std::move(*one));
    }
    return out;
  }
  // In id order (the fake keeps no list of the newest), the same paging as JobStore.
  Result<JobListPage> RecentSummaries(const JobListQuery& query) override {
    JobListPage page;
    std::size_t at = 0;
    for (const auto& [id, record] : records) {
      if (at++ < query.cursor) continue;
      if ((!query.tenant.empty() && record.tenant != query.tenant) || !query.Matches(record)) {
        continue;
      }
      if (page.jobs.size() == query.limit) {
        page.next_cursor = at - 1;
        break;
      }
      JobRecord summary = record;
      summary.input.clear();
      summary.result.clear();
      summary.error_message.clear();
      page.jobs.push_back(std::move(summary));
    }
    return page;
  }
  Result<std::optional<std::string>> GetBlob(std::string_view id) override {
    const auto it = blobs.find(std::string(id));
    if (it == blobs.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  Result<CancelOutcome> Cancel(std::string_view id, std::string_view cancelled_by,
                               JobStatus* status_out) override {
    const auto it = records.find(std::string(id));
    if (it == records.end()) return CancelOutcome::kNotFound;
    if (IsTerminal(it->second.status)) {
      *status_out = it->second.status;
      return CancelOutcome::kEnded;
    }
    it->second.status = JobStatus::kCancelled;
    it->second.cancelled_by = cancelled_by;
    return CancelOutcome::kCancelled;
  }
  Result<RequeueOutcome> Requeue(std::string_view id, JobStatus* status_out) override {
    if (down) return Fail(ErrorCode::kRedisUnavailable);
    const auto it = records.find(std::string(id));
    if (it == records.end()) return RequeueOutcome::kNotFound;
    const JobStatus status = it->second.status;
    if (status != JobStatus::kFailed && status != JobStatus::kExpired &&
        status != JobStatus::kCancelled) {
      *status_out = status;
      return RequeueOutcome::kNotEnded;
    }
    it->second.status = JobStatus::kQueued;
    it->second.error_code.clear();
    it->second.error_message.clear();
    return RequeueOutcome::kQueued;
  }
  Status WithdrawRequeued(std::string_view id, ErrorCode code, std::string_view message) override {
    if (down) return Fail(ErrorCode::kRedisUnavailable);
    JobRecord& record = records[std::string(id)];
    record.status = JobStatus::kFailed;
    record.error_code = Name(code);
    record.error_message = message;
    return Ok();
  }
  Result<StoredBytes> ReadStoredBytes(std::string_view tenant, WallMicros) override {
    if (down) return Fail(ErrorCode::kRedisUnavailable);
    ++stored_reads;
    const auto it = stored.find(std::string(tenant));
    return it == stored.end() ? StoredBytes{} : it->second;
  }
  Result<int> WaitForReplicas(int replicas, std::chrono::milliseconds) override {
    if (down) return Fail(ErrorCode::kRedisUnavailable);
    ++replica_waits;
    return std::min(replicas, replicas_reached);
  }
  Status Ping() override {
    if (down) return Fail(ErrorCode::kRedisUnavailable);
    return Ok();
  }

  bool down = false;
  bool fail_remove = false;
  std::map<std::string, JobRecord> records;
  std::map<std::string, std::string> blobs;
  std::map<std::string, std::pair<std::string, std::string>> keys;  // key -> id, fingerprint
  std::map<std::string, StoredBytes> stored;                        // by tenant
  int stored_reads = 0;
  int groups = 0;  // CreateGroup calls
  int replica_waits = 0;
  int replicas_reached = 0;  // what WaitForReplicas reports at most
};

// The commit port done at once, on the caller's thread, against a FakeStore, with a
// WAIT when `replicas_ack` is set (as GroupCommit's option); `full` refuses every commit.
class InlineCommit : public JobCommitPort {
 public:
  explicit InlineCommit(FakeStore& store) : store_(store) {}
  bool Commit(std::span<const NewJob> jobs, std::optional<IdempotencyClaim> claim,
              Done done) override {
    if (full) return false;
    Outcome outcome{store_.Create(jobs, claim), std::nullopt};
    if (replicas_ack > 0) {
      outcome.replicas = store_.WaitForReplicas(replicas_ack, std::chrono::seconds(1));
    }
    done(std::move(outcome));
    return true;
  }

  int replicas_ack = 0;
  bool full = false;

 private:
  FakeStore& store_;
};

class FakeBroker : public BrokerPort {
 public:
  FakeBroker() {
    auto served = std::make_shared<wire::Status>();
    served->types.emplace_back();
    served->types.back().name = "upper";
    status_ = served;
  }
  void Submit(std::vector<wire::SubmitJob> jobs, std::chrono::milliseconds,
              SubmitCallback done) override {
    submitted.insert(submitted.end(), jobs.begin(), jobs.end());
    if (hold) {
      held.emplace_back(jobs.size(), std::move(done));
      return;
    }
    if (timeout) return done(Fail(ErrorCode::kBrokerTimeout));
    std::vector<wire::Verdict> verdicts(jobs.size());
    for (std::size_t i = 0; i < jobs.size() && i < refuse.size(); ++i) verdicts[i] = refuse[i];
    done(std::move(verdicts));
  }
  void Cancel(std::string id) override { cancelled.push_back(std::move(id)); }
  bool alive() const override { return up; }
  std::shared_ptr<const wire::Status> status() const override { return status_; }
  void SetStatus(wire::Status status) {
    status_ = std::make_shared<const wire::Status>(std::move(status));
  }

  // Answers every held submit (all accepted).
  void Release() {
    auto answering = std::move(held);
    held.clear();
    for (auto& [size, done] : answering) done(std::vector<wire::Verdict>(size));
  }

  bool up = true;
  bool timeout = false;
  bool hold = false;  // keep each submit's callback in `held`: its verdict is outstanding
  std::vector<std::pair<std::size_t, SubmitCallback>> held;
  std::vector<wire::Verdict> refuse;  // verdicts by position; empty code: accepted
  std::vector<wire::SubmitJob> submitted;
  std::vector<std::string> cancelled;

 private:
  std::shared_ptr<const wire::Status> status_;
};

}  // namespace batchq::test
