#include "broker/broker_core.h"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "broker/submit_check.h"
#include "common/log_context.h"

namespace batchq {

BrokerCore::BrokerCore(Options options, BrokerObserver* observer)
    : options_(std::move(options)), observer_(observer), policy_(options_.policy) {
  for (const auto& settings : options_.types) policy_.Configure(settings);
}

void BrokerCore::OnSubmit(const std::string& gateway, wire::Submit submit, Now now, Effects& out,
                          const std::vector<bool>& durable) {
  wire::Accept accept;
  accept.request_id = submit.request_id;
  accept.verdicts.reserve(submit.jobs.size());
  for (std::size_t i = 0; i < submit.jobs.size(); ++i) {
    if (i < durable.size() && !durable[i]) {
      accept.verdicts.push_back(wire::Verdict{
          std::string(Name(ErrorCode::kInvalidRequest)),
          "The job has no record in Redis; a gateway stores every job before it submits it.", 0});
      if (observer_ != nullptr) observer_->OnSubmit(submit.jobs[i].type, false);
      continue;
    }
    accept.verdicts.push_back(Admit(submit.jobs[i], now));
  }
  out.to_gateways.push_back(Outbound{gateway, std::move(accept)});
}

wire::Verdict BrokerCore::Admit(wire::SubmitJob& job, Now now) {
  wire::Verdict verdict;
  // A job already here (the sweep found it first) is accepted again, not queued twice.
  if (known_.contains(job.id)) return verdict;
  if (auto checked = CheckSubmittedJob(job); !checked) {
    verdict.code = Name(checked.error().code);
    verdict.message = std::move(checked.error().message);
    if (observer_ != nullptr) observer_->OnSubmit(job.type, false);
    return verdict;
  }
  if (policy_.BoundsQueueWait(job.type)) {
    const auto refusal =
        policy_.RefuseForQueueWait(job.type, workers_.CountServing(job.type), now.steady);
    if (refusal) {
      verdict.code = Name(refusal->error.code);
      verdict.message = refusal->error.message;
      verdict.retry_after_ms = std::chrono::milliseconds(refusal->retry_after).count();
      if (observer_ != nullptr) observer_->OnSubmit(job.type, false);
      return verdict;
    }
  }
  QueuedJob queued{
      job.id, std::move(job.tenant), job.priority, job.attempts, std::move(job.input), now.steady,
      {}};
  if (job.timeout_ms > 0) {
    // The timeout runs from the gateway's acceptance, not from our receipt.
    const auto age = now.wall - WallMicros(job.created_us);
    queued.deadline = now.steady + std::chrono::milliseconds(job.timeout_ms) - age;
  }
  auto added = policy_.Enqueue(
      job.type, std::move(queued),
      TenantLimits{job.tenant_weight, job.tenant_max_queued, options_.tenant_max_queued_bytes});
  if (observer_ != nullptr) observer_->OnSubmit(job.type, added.has_value());
  if (added) {
    known_.insert(std::move(job.id));
    return verdict;
  }
  verdict.code = Name(added.error().code);
  verdict.message = added.error().message;
  if (added.error().code == ErrorCode::kQueueFull ||
      added.error().code == ErrorCode::kQuotaExceeded) {
    verdict.retry_after_ms =
        std::chrono::milliseconds(policy_.RetryAfter(job.type, now.steady)).count();
  }
  return verdict;
}

void BrokerCore::OnCancel(const wire::Cancel& cancel, Effects& out) {
  if (policy_.Remove(cancel.id)) {
    known_.erase(cancel.id);
    return;
  }
  const auto delayed = std::find_if(delayed_.begin(), delayed_.end(), [&cancel](const auto& entry) {
    return entry.second.job.id == cancel.id;
  });
  if (delayed != delayed_.end()) {
    delayed_.erase(delayed);
    known_.erase(cancel.id);
    return;
  }
  for (const auto& [batch_id, batch] : in_flight_) {
    const bool member =
        std::any_of(batch.jobs.begin(), batch.jobs.end(),
                    [&cancel](const QueuedJob& job) { return job.id == cancel.id; });
    if (member) {
      out.to_workers.push_back(Outbound{batch.worker, wire::Cancel{cancel.id}});
      return;
    }
  }
}

void BrokerCore::OnWorkerMessage(const std::string& worker, wire::Message message, Now now,
                                 Effects& out) {
  if (auto* ready = std::get_if<wire::Ready>(&message)) {
    return OnReady(worker, std::move(*ready), now, out);
  }
  if (workers_.Find(worker) == nullptr) {
    // A worker we do not know (we restarted, or declared it dead): make it start over.
    out.to_workers.push_back(
        Outbound{worker, wire::Disconnect{"unknown worker; send READY again"}});
    return;
  }
  workers_.Touch(worker, now.steady);
  if (auto* done = std::get_if<wire::Done>(&message)) {
    OnDone(worker, *done, now);
  } else if (std::holds_alternative<wire::Disconnect>(message)) {
    LoseWorker(worker, out);
  } else if (!std::holds_alternative<wire::Heartbeat>(message)) {
    spdlog::warn("backend: unexpected {}", wire::CommandName(message));
  }
}

void BrokerCore::OnReady(const std::string& worker, wire::Ready ready, Now now, Effects& out) {
  if (ready.credits == 0 || ready.types.empty()) {
    out.to_workers.push_back(
        Outbound{worker, wire::Disconnect{"READY needs at least one type and one credit"}});
    return;
  }
  // The same peer announcing itself again restarted: what it held is lost.
  if (workers_.Find(worker) != nullptr) LoseWorker(worker, out);
  // Types come from our configuration, never from what a worker says it serves.
  std::vector<std::string> refused;
  std::erase_if(ready.types, [&](const std::string& type) {
    if (policy_.Knows(type)) return false;
    refused.push_back(type);
    return true;
  });
  if (!refused.empty()) {
    spdlog::warn(
        "worker {} announced types this broker does not serve, ignored: [{}] (add them "
        "to the broker's --type)",
        ready.name, fmt::join(refused, ","));
  }
  spdlog::info("worker {} ready: types [{}], {} credits, backend {} {}", ready.name,
               fmt::join(ready.types, ","), ready.credits, ready.backend, ready.device);
  workers_.Register(worker, std::move(ready), now.steady);
  // A welcome: a worker that hears nothing soon after READY tries the next broker.
  out.to_workers.push_back(Outbound{worker, wire::Heartbeat{now.wall.count()}});
}

void BrokerCore::OnDone(const std::string& worker, const wire::Done& done, Now now) {
  const auto it = in_flight_.find(done.batch_id);
  if (it == in_flight_.end() || it->second.worker != worker) {
    // A late DONE for a batch taken back: the worker is alive after all.
    if (const auto late = overdue_.find(done.batch_id);
        late != overdue_.end() && late->second == worker) {
      overdue_.erase(late);
      workers_.Release(worker, /*finished=*/true);
    }
    return;
  }
  policy_.ObserveBatch(it->second.type, done.size, std::chrono::microseconds(done.exec_us));
  std::size_t held = 0;
  for (auto& job : it->second.jobs) {
    if (!lost_runs_.empty()) lost_runs_.erase(job.id);
    const auto retry =
        std::find_if(done.retries.begin(), done.retries.end(),
                     [&job](const wire::RetryLater& later) { return later.id == job.id; });
    if (retry == done.retries.end()) {
      known_.erase(job.id);
      continue;
    }
    // Still known: it is queued in Redis, and the sweep must not queue it early.
    job.deadline.reset();  // it was dispatched in time
    job.suspect = false;
    const auto due =
        now.steady + std::chrono::milliseconds(std::max<std::int64_t>(retry->delay_ms, 0));
    delayed_.emplace(due, Delayed{it->second.type, std::move(job)});
    ++held;
  }
  if (held > 0 && observer_ != nullptr) observer_->OnRetriesHeld(it->second.type, held);
  in_flight_.erase(it);
  workers_.Release(worker, /*finished=*/true);
}

void BrokerCore::ReleaseDueRetries(Now now) {
  while (!delayed_.empty() && delayed_.begin()->first <= now.steady) {
    auto node = delayed_.extract(delayed_.begin());
    Delayed& delayed = node.mapped();
    delayed.job.enqueued = now.steady;
    policy_.Requeue(delayed.type, {std::move(delayed.job)});
  }
}

void BrokerCore::OnTick(Now now, Effects& out) {
  ReleaseDueRetries(now);
  Dispatch(now, out);
  if (!delayed_.empty()) {
    const MonotonicTime first = delayed_.begin()->first;
    wake_at_ = wake_at_ ? std::min(*wake_at_, first) : first;
  }
}

void BrokerCore::Dispatch(Now now, Effects& out) {
  const auto capacity = [this](std::string_view type) { return workers_.CapacityFor(type); };
  for (;;) {
    auto decision = policy_.Next(now.steady, capacity);
    wake_at_ = decision.wake_at;
    if (!decision.expired.empty()) Expire(std::move(decision.expired), out);
    if (!decision.batch) return;
    const WorkerInfo* worker = workers_.Assign(decision.batch->type, decision.batch->exclusive);
    if (worker == nullptr) {
      // The policy saw a free credit that suits no worker (an exclusive batch with
      // no idle worker): it waits at the front of its queue.
      policy_.Requeue(decision.batch->type, std::move(decision.batch->jobs));
      return;
    }
    Send(*worker, *decision.batch, now, out);
  }
}

void BrokerCore::Send(const WorkerInfo& worker, ReadyBatch& ready, Now now, Effects& out) {
  wire::Batch batch;
  batch.batch_id = fmt::format("{}-{}", options_.batch_prefix, ++batch_counter_);
  batch.epoch = options_.epoch;
  batch.type = ready.type;
  batch.dispatched_us = now.wall.count();
  batch.close_reason = std::string(ToString(ready.reason));
  batch.jobs.reserve(ready.jobs.size());
  std::vector<std::chrono::microseconds> waits;
  waits.reserve(ready.jobs.size());
  for (auto& job : ready.jobs) {
    ++job.attempts;  // the fencing token of this run
    batch.jobs.push_back(wire::BatchJob{job.id, job.attempts, job.input});
    waits.push_back(
        std::chrono::duration_cast<std::chrono::microseconds>(now.steady - job.enqueued));
  }
  const ScopedLogContext log_context(batch.batch_id);
  spdlog::debug("batch of {} x {} ({}) to {}", ready.jobs.size(), ready.type,
                ToString(ready.reason), worker.ready.name);
  if (observer_ != nullptr) observer_->OnBatch(ready.type, batch.close_reason, waits);
  const auto max_run = policy_.MaxRun(ready.type, static_cast<std::uint32_t>(ready.jobs.size()));
  // Ticks come every heartbeat_interval: that many cover max_run (rounded up).
  const auto interval = std::max(options_.heartbeat_interval, std::chrono::milliseconds(1));
  const auto ticks_for_max_run = static_cast<std::uint32_t>(
      std::max<std::int64_t>(1, (max_run + interval - std::chrono::milliseconds(1)) / interval));
  in_flight_.emplace(batch.batch_id, InFlight{worker.routing, ready.type, std::move(ready.jobs),
                                              now.steady + max_run, 0, ticks_for_max_run});
  out.to_workers.push_back(Outbound{worker.routing, std::move(batch)});
}

void BrokerCore::OnUndelivered(const std::string& worker, const wire::Message& message) {
  const auto* batch = std::get_if<wire::Batch>(&message);
  if (batch == nullptr) return;
  auto node = in_flight_.extract(batch->batch_id);
  if (node.empty()) return;
  for (auto& job : node.mapped().jobs) --job.attempts;  // it never ran
  policy_.Requeue(node.mapped().type, std::move(node.mapped().jobs));
  workers_.Release(worker, /*finished=*/false);
}

void BrokerCore::OnWorkerUnreachable(const std::string& worker, Effects& out) {
  LoseWorker(worker, out);
}

void BrokerCore::OnHeartbeatTick(Now now, Effects& out) {
  const auto max_silence = options_.heartbeat_interval * options_.heartbeat_liveness;
  for (auto& worker : workers_.RemoveSilent(now.steady, max_silence, options_.heartbeat_liveness)) {
    spdlog::warn("worker {} silent for {} ms: declared dead", worker.ready.name,
                 max_silence.count());
    LoseWorker(worker.routing, out);  // already out of the registry; its batches name it
  }
  workers_.OnTick();
  TakeBackOverdue(now, out);
  const wire::Heartbeat beat{now.wall.count()};
  for (const auto& [routing, worker] : workers_.workers()) {
    out.to_workers.push_back(Outbound{routing, beat});
  }
}

void BrokerCore::TakeBackOverdue(Now now, Effects& out) {
  std::vector<std::string> batch_ids;
  for (auto& [id, batch] : in_flight_) {
    ++batch.ticks;
    if (now.steady >= batch.run_deadline && batch.ticks >= batch.ticks_for_max_run) {
      batch_ids.push_back(id);
    }
  }
  for (const auto& id : batch_ids) {
    InFlight batch = std::move(in_flight_.extract(id).mapped());
    const ScopedLogContext log_context(id);
    const auto* worker = workers_.Find(batch.worker);
    const auto max_run = policy_.MaxRun(batch.type, static_cast<std::uint32_t>(batch.jobs.size()));
    spdlog::warn("batch held by worker {} past its max_run of {} ms: taken back",
                 worker != nullptr ? worker->ready.name : batch.worker, max_run.count());
    if (observer_ != nullptr) observer_->OnBatchOverdue(batch.type);
    overdue_.emplace(id, batch.worker);
    RequeueLostBatch(std::move(batch),
                     fmt::format("The job's batch ran past its max_run ({} ms), or its worker "
                                 "was lost, {} times in a row.",
                                 max_run.count(), options_.max_attempts),
                     out);
  }
}

void BrokerCore::LoseWorker(const std::string& worker, Effects& out) {
  std::erase_if(overdue_, [&](const auto& entry) { return entry.second == worker; });
  const auto removed = workers_.Remove(worker);
  std::vector<std::string> batch_ids;
  for (const auto& [id, batch] : in_flight_) {
    if (batch.worker == worker) batch_ids.push_back(id);
  }
  if (removed) {
    spdlog::warn("worker {} lost with {} batches", removed->ready.name, batch_ids.size());
  }
  for (const auto& id : batch_ids) {
    RequeueLostBatch(std::move(in_flight_.extract(id).mapped()), WorkerLostMessage(), out);
  }
}

void BrokerCore::RequeueLostBatch(InFlight lost, const std::string& failure_message, Effects& out) {
  // Which of its batches the worker was running cannot be known from here (its last
  // words may not have left the process), so every job it held counts one lost run and
  // becomes a suspect; a suspect then runs alone on an idle worker, where a crash is
  // its own. A good job is thus blamed at most once, a poison job every time.
  std::vector<QueuedJob> retry;
  std::vector<std::string> failed;
  for (auto& job : lost.jobs) {
    if (++lost_runs_[job.id] >= options_.max_attempts) {
      lost_runs_.erase(job.id);
      failed.push_back(std::move(job.id));
    } else {
      job.deadline.reset();  // it was dispatched in time; that deadline no longer applies
      job.suspect = true;
      retry.push_back(std::move(job));
    }
  }
  for (const auto& id : failed) {
    const ScopedLogContext job_context({}, id);
    spdlog::warn("job failed: its worker was lost {} times in a row", options_.max_attempts);
  }
  if (!failed.empty()) {
    End(std::move(failed), JobStatus::kFailed, ErrorCode::kWorkerLost, failure_message, out);
  }
  spdlog::warn("lost batch: {} jobs re-queued", retry.size());
  policy_.Requeue(lost.type, std::move(retry));
}

std::string BrokerCore::WorkerLostMessage() const {
  return fmt::format("The job's worker was lost {} times in a row.", options_.max_attempts);
}

void BrokerCore::Expire(std::vector<ExpiredJob> expired, Effects& out) {
  std::vector<std::string> ids;
  ids.reserve(expired.size());
  for (auto& job : expired) ids.push_back(std::move(job.id));
  spdlog::info("{} jobs expired before dispatch", ids.size());
  End(std::move(ids), JobStatus::kExpired, ErrorCode::kExpired,
      std::string(DefaultMessage(ErrorCode::kExpired)), out);
}

void BrokerCore::End(std::vector<std::string> ids, JobStatus status, ErrorCode code,
                     std::string message, Effects& out) {
  // Still known until the write lands, so the sweep cannot revive them meanwhile.
  for (const auto& id : ids) known_.insert(id);
  if (observer_ != nullptr) observer_->OnJobsEnded(code, ids.size());
  out.endings.push_back(
      JobEnding{std::move(ids), status, code, std::move(message), options_.epoch});
}

void BrokerCore::OnEndingsWritten(std::span<const std::string> ids) {
  for (const auto& id : ids) known_.erase(id);
}

std::vector<std::string> BrokerCore::UnknownIds(std::vector<std::string> pending) const {
  std::erase_if(pending, [this](const std::string& id) { return known_.contains(id); });
  return pending;
}

void BrokerCore::OnSweep(std::vector<JobRecord> records, Now now, Effects& out) {
  std::size_t recovered = 0;
  const auto lease = std::chrono::duration_cast<WallMicros>(options_.running_lease);
  for (auto& record : records) {
    if (known_.contains(record.id)) continue;  // its SUBMIT arrived meanwhile
    const bool queued = record.status == JobStatus::kQueued;
    const bool abandoned =
        record.status == JobStatus::kRunning && now.wall - record.started > lease;
    if (!queued && !abandoned) continue;
    if (abandoned && record.attempts >= options_.max_attempts) {
      End({record.id}, JobStatus::kFailed, ErrorCode::kWorkerLost, WorkerLostMessage(), out);
      continue;
    }
    known_.insert(record.id);
    if (!policy_.Knows(record.type)) {
      End({record.id}, JobStatus::kFailed, ErrorCode::kUnknownType,
          fmt::format("This broker does not serve '{}' (its --type list changed).", record.type),
          out);
      continue;
    }
    QueuedJob job{record.id,
                  std::move(record.tenant),
                  record.priority,
                  record.attempts,
                  std::move(record.input),
                  now.steady,
                  {}};
    // A job that ran was dispatched in time, and so was one waiting for a retry after a
    // failure; one queued again by POST :retry (retries 0) waits from that moment.
    const WallMicros waits_from = record.retry_at.count() > 0 ? record.retry_at : record.created;
    if (queued) {
      // The queue lifetime too counts from then, not from this broker's start: a record
      // has no TTL until it ends (job_store.h), so brokers restarted within each other's
      // lifetimes must not keep a job that no worker takes queued for ever.
      const auto age = now.wall - waits_from;
      job.deadline = now.steady + options_.policy.queue_lifetime - age;
      if (record.timeout_ms > 0 && record.retries == 0) {
        job.deadline = std::min(*job.deadline,
                                now.steady + std::chrono::milliseconds(record.timeout_ms) - age);
      }
    }
    if (queued && record.retry_at > now.wall) {
      job.deadline.reset();
      delayed_.emplace(now.steady + (record.retry_at - now.wall),
                       Delayed{std::move(record.type), std::move(job)});
    } else {
      policy_.Requeue(record.type, {std::move(job)});
    }
    ++recovered;
  }
  if (recovered > 0) spdlog::info("sweep: recovered {} jobs from Redis", recovered);
}

wire::Status BrokerCore::BuildStatus(std::uint64_t seq, MonotonicTime now) const {
  wire::Status status;
  status.seq = seq;
  status.epoch = options_.epoch;
  std::unordered_map<std::string, std::uint32_t> in_flight_by_type;
  for (const auto& [id, batch] : in_flight_) ++in_flight_by_type[batch.type];
  for (const auto& stats : policy_.Stats(now)) {
    const auto& settings = stats.settings;
    wire::TypeStatus type;
    type.name = settings.name;
    type.max_batch_size = settings.max_batch_size;
    type.max_delay_us = settings.max_delay.count();
    type.max_queue = settings.max_queue;
    type.queue_depth = stats.depth;
    type.in_flight_batches = in_flight_by_type[settings.name];
    type.workers = workers_.CountServing(settings.name);
    type.oldest_wait_us = stats.oldest_wait.count();
    type.cost_fixed_us = stats.cost_fixed_us;
    type.cost_per_item_us = stats.cost_per_item_us;
    type.arrivals_per_s = stats.arrivals_per_s;
    type.dispatched_per_s = stats.dispatched_per_s;
    type.adaptive = settings.adaptive;
    type.preferred_batch_sizes = settings.preferred_batch_sizes;
    type.max_batch_bytes = settings.max_batch_bytes;
    type.default_timeout_ms = settings.default_timeout.count();
    type.batch_sizes.assign(stats.batch_sizes.begin(), stats.batch_sizes.end());
    type.max_queue_wait_ms = settings.max_queue_wait.count();
    type.max_retries = settings.max_retries;
    type.retry_backoff_ms = settings.retry_backoff.count();
    if (const auto wait = policy_.ProjectedWait(settings.name, type.workers, now)) {
      type.projected_wait_us = wait->count();
    }
    if (const auto refusal = policy_.RefuseForQueueWait(settings.name, type.workers, now)) {
      type.refusing_retry_after_ms = std::chrono::milliseconds(refusal->retry_after).count();
    }
    status.types.push_back(std::move(type));
  }
  for (const auto& [routing, worker] : workers_.workers()) {
    status.workers.push_back(
        wire::WorkerStatus{worker.ready.name, worker.ready.types, worker.ready.backend,
                           worker.ready.device, worker.ready.credits, worker.free_credits(),
                           worker.batches_done, worker.ready.device_memory_bytes});
  }
  return status;
}

}  // namespace batchq
