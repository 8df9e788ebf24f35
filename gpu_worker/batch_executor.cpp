#include "gpu_worker/batch_executor.h"

#include <algorithm>
#include <cstdlib>
#include <optional>

#include <spdlog/spdlog.h>

#include "common/log_context.h"
#include "common/thread_name.h"
#include "gpu_worker/oom_splitter.h"

namespace batchq {
namespace {
using Clock = std::chrono::steady_clock;
}  // namespace

BatchExecutor::BatchExecutor(Options options, Handlers handlers, WakeSignal& done_signal)
    : options_(std::move(options)),
      handlers_(std::move(handlers)),
      done_signal_(done_signal),
      redis_(options_.redis),
      store_(redis_, options_.store),
      writer_redis_(options_.redis),
      writer_store_(writer_redis_, options_.store),
      claim_timing_(options_.claim_at_write_below) {
  for (auto& [type, handler] : handlers_) handler->set_cancellation(&running_);
  claimer_ = std::thread([this] {
    NameThisThread("claim");
    ClaimLoop();
  });
  runner_ = std::thread([this] {
    NameThisThread("run");
    RunLoop();
  });
  writer_ = std::thread([this] {
    NameThisThread("write");
    WriteLoop();
  });
}

BatchExecutor::~BatchExecutor() { Stop(); }

void BatchExecutor::Cancel(std::string_view id) { running_.Cancel(id); }

void BatchExecutor::Stop() {
  {
    std::lock_guard lock(mutex_);
    stop_.store(true);
  }
  ready_.notify_all();
  if (claimer_.joinable()) claimer_.join();
  {
    std::lock_guard lock(mutex_);
    claimer_done_ = true;
  }
  claimed_ready_.notify_all();
  if (runner_.joinable()) runner_.join();
  {
    std::lock_guard lock(mutex_);
    runner_done_ = true;
  }
  written_ready_.notify_all();
  if (writer_.joinable()) writer_.join();
}

BatchExecutor::Counts BatchExecutor::counts() const {
  std::lock_guard lock(mutex_);
  return counts_;
}

std::vector<wire::Done> BatchExecutor::TakeDone() {
  std::lock_guard lock(mutex_);
  return std::exchange(done_, {});
}

template <class Call>
auto BatchExecutor::WithRetry(Call&& call, int tries_when_stopping) -> decltype(call()) {
  using namespace std::chrono_literals;
  // Redis may be briefly away: retry with a growing pause rather than lose the batch.
  auto backoff = 50ms;
  for (;;) {
    auto result = call();
    if (result || (stop_.load() && tries_when_stopping-- <= 0)) return result;
    spdlog::warn("redis: {}; retrying in {} ms", result.error().message, backoff.count());
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
  }
}

void BatchExecutor::Enqueue(wire::Batch batch) {
  bool runner_claims = false;
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(batch));
    runner_claims = runner_idle_ && !claimer_busy_;
  }
  // An idle run thread claims the batch itself, sparing a hand-off; a busy one leaves it
  // to the claim thread, so that the claim overlaps the run.
  (runner_claims ? claimed_ready_ : ready_).notify_one();
}

void BatchExecutor::ClaimLoop() {
  for (;;) {
    wire::Batch batch;
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [this] {
        return stop_.load() || (!queue_.empty() && !runner_idle_ && !claimer_busy_);
      });
      if (stop_.load()) return;  // queued batches are dropped; the broker re-queues them
      batch = std::move(queue_.front());
      queue_.pop_front();
      claimer_busy_ = true;
    }
    Claimed claimed = ClaimBatch(std::move(batch));
    {
      std::lock_guard lock(mutex_);
      to_run_.push_back(std::move(claimed));
      claimer_busy_ = false;
    }
    claimed_ready_.notify_one();
  }
}

BatchExecutor::Claimed BatchExecutor::ClaimBatch(wire::Batch batch) {
  BatchStart start{batch.batch_id,       static_cast<std::uint32_t>(batch.jobs.size()),
                   options_.worker_name, WallMicros(batch.dispatched_us),
                   NowWallMicros(),      batch.close_reason,
                   batch.epoch};
  std::uint32_t highest_attempt = 0;
  for (const auto& job : batch.jobs) highest_attempt = std::max(highest_attempt, job.attempt);
  {
    std::lock_guard lock(mutex_);
    if (!claim_timing_.ClaimsFirst(batch.type, highest_attempt)) {
      ++counts_.claimed_at_write;
      if (options_.metrics != nullptr) options_.metrics->OnClaimedAtWrite();
      const std::size_t size = batch.jobs.size();
      return Claimed{std::move(batch), std::vector<bool>(size, true), std::move(start), true};
    }
  }
  std::vector<JobClaim> claims;
  claims.reserve(batch.jobs.size());
  for (const auto& job : batch.jobs) claims.push_back(JobClaim{job.id, job.attempt});
  // A claim not made while stopping costs nothing: the broker re-queues the batch.
  auto claimed = WithRetry([&] { return store_.Start(start, claims); }, 0);
  if (!claimed) return Claimed{std::move(batch), {}, {}, false};
  return Claimed{std::move(batch), std::move(*claimed), std::move(start), false};
}

std::optional<BatchExecutor::Claimed> BatchExecutor::NextToRun(bool wait, bool& stopped) {
  std::optional<wire::Batch> to_claim;
  std::optional<Claimed> next;
  // Set when this thread stops being idle with a batch still to claim: the claim
  // thread, which leaves batches to an idle run thread, may claim it now.
  bool claimer_may_claim = false;
  {
    std::unique_lock lock(mutex_);
    if (wait) {
      runner_idle_ = true;
      claimed_ready_.wait(lock, [this] {
        return claimer_done_ || !to_run_.empty() ||
               (!stop_.load() && !queue_.empty() && !claimer_busy_);
      });
      runner_idle_ = false;
      if (stop_.load() || (to_run_.empty() && claimer_done_)) {
        stopped = true;
        return std::nullopt;
      }
      if (to_run_.empty()) {
        to_claim = std::move(queue_.front());
        queue_.pop_front();
        claimer_busy_ = true;
        ++counts_.claimed_by_runner;
      }
      claimer_may_claim = !queue_.empty() && !claimer_busy_;
    }
    if (!to_claim && !to_run_.empty() && !stop_.load()) {
      next = std::move(to_run_.front());
      to_run_.pop_front();
    }
  }
  if (to_claim) {
    next = ClaimBatch(std::move(*to_claim));
    std::lock_guard lock(mutex_);
    claimer_busy_ = false;
    // Stopping, a batch claimed here is this thread's running batch: its jobs read
    // `running` already, so it runs and is written like one (Stop). Only one whose claim
    // failed for the stop is left, as a batch the claim thread claimed ahead is: not run
    // and not reported done, so the broker queues it again when this worker goes (a
    // DONE would tell it the batch's jobs are over).
    if (stop_.load() && next->claimed.empty()) {
      stopped = true;
      return std::nullopt;
    }
    claimer_may_claim = !queue_.empty();
  }
  if (claimer_may_claim) ready_.notify_one();
  return next;
}

void BatchExecutor::RunLoop() {
  // With a two-phase handler the next batch is launched before the current one is
  // collected: while the device runs one, the host packs the next and encodes the last.
  std::unique_ptr<Launched> in_flight;
  auto previous_end = Clock::now();
  for (;;) {
    bool stopped = false;
    std::optional<Claimed> next = NextToRun(in_flight == nullptr, stopped);
    if (stopped) return;
    std::unique_ptr<Launched> launched = next ? Launch(std::move(*next)) : nullptr;
    if (in_flight != nullptr) {
      Written written = CollectInFlight(*in_flight, previous_end);
      // With no batch launched, claimed or waiting to be, this thread would only wait:
      // it writes the results itself, sparing the hand-off to the writer (a wake-up on
      // the job's way back). Otherwise, or with the writer still busy, the writer does,
      // in order, and this thread goes on to the next batch.
      bool write_here = false;
      {
        std::lock_guard lock(mutex_);
        write_here = launched == nullptr && to_write_.empty() && !writer_busy_ && to_run_.empty() &&
                     queue_.empty() && !claimer_busy_;
        if (write_here) {
          writer_busy_ = true;
          ++counts_.written_by_runner;
        } else {
          to_write_.push_back(std::move(written));
        }
      }
      if (write_here) {
        WriteBatch(std::move(written), /*then_idle=*/true);
      } else {
        written_ready_.notify_one();
      }
    }
    in_flight = std::move(launched);
  }
}

BatchExecutor::Written BatchExecutor::CollectInFlight(Launched& in_flight,
                                                      Clock::time_point& previous_end) {
  std::vector<JobOutcome> outcomes = Collect(in_flight);
  const auto end = Clock::now();
  // The device's occupancy per batch feeds the broker's cost model; with batches
  // overlapping, a batch is charged from when the previous one ended.
  const auto exec = std::chrono::duration_cast<std::chrono::microseconds>(
      end - std::max(in_flight.start, previous_end));
  previous_end = end;
  // A batch of which nothing ran (every job cancelled or taken) says nothing of how
  // long the type runs.
  if (!in_flight.inputs.empty()) {
    std::lock_guard lock(mutex_);
    claim_timing_.OnBatchRan(in_flight.claimed.batch.type, exec);
  }
  if (options_.metrics != nullptr) {
    std::chrono::microseconds device{0};
    if (in_flight.handler != nullptr) {
      const auto total = in_flight.handler->device_time();
      device = total - device_seen_[in_flight.handler];
      device_seen_[in_flight.handler] = total;
    }
    options_.metrics->OnBatch(in_flight.claimed.batch.type, exec, outcomes, device);
  }
  return Written{in_flight.claimed.batch.batch_id,
                 static_cast<std::uint32_t>(in_flight.claimed.batch.jobs.size()),
                 exec,
                 std::move(outcomes),
                 std::move(in_flight.claimed.start),
                 in_flight.claimed.at_write};
}

namespace {

// The jobs the finish script queued again, for the broker to hold back; logs the refused.
std::vector<wire::RetryLater> RetriesOf(std::span<const FinishMark> marks,
                                        std::span<const JobOutcome> outcomes) {
  std::vector<wire::RetryLater> retries;
  for (std::size_t i = 0; i < marks.size() && i < outcomes.size(); ++i) {
    const ScopedLogContext job_context({}, outcomes[i].id);
    if (marks[i].kind == FinishMark::Kind::kRefused) {
      spdlog::warn("late result refused: the job was cancelled, or a newer attempt owns it");
    } else if (marks[i].kind == FinishMark::Kind::kRetrying) {
      spdlog::info("job failed ({}), retried in {} ms", Name(outcomes[i].error_code),
                   marks[i].retry_in.count());
      retries.push_back(wire::RetryLater{outcomes[i].id, marks[i].retry_in.count()});
    }
  }
  return retries;
}

}  // namespace

void BatchExecutor::WriteLoop() {
  for (;;) {
    Written written;
    {
      std::unique_lock lock(mutex_);
      written_ready_.wait(lock, [this] { return runner_done_ || !to_write_.empty(); });
      if (to_write_.empty()) return;  // the runner stopped and everything is written
      written = std::move(to_write_.front());
      to_write_.pop_front();
      writer_busy_ = true;
    }
    WriteBatch(std::move(written), /*then_idle=*/false);
  }
}

void BatchExecutor::WriteBatch(Written written, bool then_idle) {
  const ScopedLogContext log_context(written.batch_id);
  wire::Done done{written.batch_id, written.size, written.exec.count(), {}};
  if (!written.outcomes.empty()) {
    // Results already computed get more tries while stopping: finished work is dear.
    const BatchStart* start = written.start ? &*written.start : nullptr;
    const BatchStart* claim = written.at_write ? start : nullptr;
    const BatchStart* started = written.at_write ? nullptr : start;
    auto stored =
        WithRetry([&] { return writer_store_.Finish(written.outcomes, claim, started); }, 5);
    if (!stored) {
      spdlog::error("batch results not written: {}", stored.error().message);
    } else {
      done.retries = RetriesOf(*stored, written.outcomes);
    }
  }
  {
    std::lock_guard lock(mutex_);
    done_.push_back(std::move(done));
    writer_busy_ = false;
    // Idle from here, before anyone hears of the DONE: the next batch, sent as the
    // broker gets it, is the run thread's to claim.
    if (then_idle) runner_idle_ = true;
  }
  done_signal_.Notify();
}

std::unique_ptr<BatchExecutor::Launched> BatchExecutor::Launch(Claimed claimed) {
  auto launched = std::make_unique<Launched>();
  launched->claimed = std::move(claimed);
  launched->start = Clock::now();
  launched->launched_at = NowWallMicros();
  const wire::Batch& batch = launched->claimed.batch;
  const ScopedLogContext log_context(batch.batch_id);
  // Jobs cancelled or already taken by a newer attempt are skipped, never run.
  std::vector<std::string_view> ids;
  for (std::size_t i = 0; i < batch.jobs.size() && i < launched->claimed.claimed.size(); ++i) {
    if (!launched->claimed.claimed[i]) continue;
    launched->inputs.push_back(batch.jobs[i].input);
    launched->index.push_back(i);
    ids.push_back(batch.jobs[i].id);
  }
  if (launched->inputs.empty()) return launched;
  running_.Add(launched->inputs, ids);
  if (!options_.crash_on_input.empty() &&
      std::find(launched->inputs.begin(), launched->inputs.end(), options_.crash_on_input) !=
          launched->inputs.end()) {
    for (const auto& job : batch.jobs) {
      if (job.input != options_.crash_on_input) continue;
      const ScopedLogContext job_context({}, job.id);
      spdlog::critical("fault injection: crashing on input {}", options_.crash_on_input);
    }
    std::abort();
  }
  const auto handler = handlers_.find(batch.type);
  if (handler == handlers_.end()) {
    launched->stage = Stage::kNoHandler;
    return launched;
  }
  launched->handler = handler->second.get();
  launched->stage = Stage::kRunAtCollect;
  if (launched->handler->launch_slots() > 0) {
    auto ticket = launched->handler->Launch(launched->inputs);
    if (ticket) {
      launched->stage = Stage::kOnDevice;
      launched->ticket = *ticket;
    } else {
      launched->stage = Stage::kLaunchFailed;
      launched->launch_error = ticket.error();
    }
  }
  return launched;
}

std::vector<JobOutcome> BatchExecutor::Collect(Launched& launched) {
  const wire::Batch& batch = launched.claimed.batch;
  const ScopedLogContext log_context(batch.batch_id);
  Result<std::vector<ItemResult>> results = std::vector<ItemResult>{};
  switch (launched.stage) {
    case Stage::kNothingToRun:
      return {};
    case Stage::kNoHandler:
      results = Fail(ErrorCode::kUnknownType, "This worker has no handler for the job's type.");
      break;
    case Stage::kOnDevice:
      results = launched.handler->Collect(launched.ticket);
      break;
    case Stage::kLaunchFailed:
      results = std::unexpected(launched.launch_error);
      break;
    case Stage::kRunAtCollect:
      break;
  }
  // One-phase, or out of memory as one batch: run it, split as it needs.
  if (launched.stage == Stage::kRunAtCollect ||
      (!results && results.error().code == kOutOfMemory && launched.handler != nullptr)) {
    results = RunSplittingOnOom(*launched.handler, launched.inputs);
  }
  running_.Remove(launched.inputs);
  if (results && results->size() != launched.inputs.size()) {
    results = Fail(ErrorCode::kHandlerError, "The handler returned the wrong number of results.");
  }
  if (!results) {
    spdlog::error("batch of {} x {} failed: {}", launched.inputs.size(), batch.type,
                  results.error().message);
  }
  std::vector<JobOutcome> outcomes;
  outcomes.reserve(launched.inputs.size());
  for (std::size_t k = 0; k < launched.index.size(); ++k) {
    const auto& job = batch.jobs[launched.index[k]];
    JobOutcome outcome;
    outcome.id = job.id;
    outcome.attempt = job.attempt;
    outcome.launched = launched.launched_at;
    if (!results) {
      outcome.error_code = results.error().code;
      outcome.error_message = results.error().message;
    } else if (auto& item = (*results)[k]; item) {
      outcome.succeeded = true;
      outcome.result = std::move(item->json);
      outcome.blob = std::move(item->blob);
      outcome.content_type = std::move(item->content_type);
    } else {
      outcome.error_code = item.error().code;
      outcome.error_message = item.error().message;
      const ScopedLogContext job_context({}, job.id);
      spdlog::debug("job failed: {}: {}", Name(outcome.error_code), outcome.error_message);
    }
    outcomes.push_back(std::move(outcome));
  }
  return outcomes;
}

}  // namespace batchq
