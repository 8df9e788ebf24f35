#include "gpu_worker/batch_executor.h"

#include <spdlog/spdlog.h>

namespace batchq {
namespace {
using Clock = std::chrono::steady_clock;
}  // namespace

BatchExecutor::BatchExecutor(Options options, Handlers handlers, WakeSignal& done_signal)
    : options_(std::move(options)),
      handlers_(std::move(handlers)),
      done_signal_(done_signal),
      redis_(options_.redis),
      store_(redis_, options_.store) {
  thread_ = std::thread([this] { Loop(); });
}

BatchExecutor::~BatchExecutor() { Stop(); }

void BatchExecutor::Stop() {
  {
    std::lock_guard lock(mutex_);
    stop_.store(true);
  }
  ready_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void BatchExecutor::Enqueue(wire::Batch batch) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(batch));
  }
  ready_.notify_one();
}

std::vector<wire::Done> BatchExecutor::TakeDone() {
  std::lock_guard lock(mutex_);
  return std::exchange(done_, {});
}

void BatchExecutor::Loop() {
  for (;;) {
    wire::Batch batch;
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [this] { return stop_.load() || !queue_.empty(); });
      if (stop_.load()) return;
      batch = std::move(queue_.front());
      queue_.pop_front();
    }
    const auto start = Clock::now();
    Execute(batch);
    const auto exec = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
    {
      std::lock_guard lock(mutex_);
      done_.push_back(
          wire::Done{batch.batch_id, static_cast<std::uint32_t>(batch.jobs.size()), exec.count()});
    }
    done_signal_.Notify();
  }
}

void BatchExecutor::Execute(wire::Batch& batch) {
  using namespace std::chrono_literals;
  // Redis may be briefly away: retry with a growing pause rather than lose the batch.
  auto with_retry = [this](auto&& call) {
    auto backoff = 50ms;
    for (;;) {
      auto result = call();
      if (result || stop_.load()) return result;
      spdlog::warn("redis: {}; retrying in {} ms", result.error().message, backoff.count());
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
    }
  };

  std::vector<JobClaim> claims;
  claims.reserve(batch.jobs.size());
  for (const auto& job : batch.jobs) claims.push_back(JobClaim{job.id, job.attempt});
  const BatchStart start{batch.batch_id,       static_cast<std::uint32_t>(batch.jobs.size()),
                         options_.worker_name, WallMicros(batch.dispatched_us),
                         NowWallMicros(),      batch.close_reason};
  auto claimed = with_retry([&] { return store_.Start(start, claims); });
  if (!claimed) return;  // stopping; the broker re-queues the batch

  // Jobs cancelled or already taken by a newer attempt are skipped, never run.
  std::vector<std::string_view> inputs;
  std::vector<std::size_t> index;
  for (std::size_t i = 0; i < batch.jobs.size() && i < claimed->size(); ++i) {
    if (!(*claimed)[i]) continue;
    inputs.push_back(batch.jobs[i].input);
    index.push_back(i);
  }
  if (inputs.empty()) return;

  std::vector<JobOutcome> outcomes;
  outcomes.reserve(inputs.size());
  const auto handler = handlers_.find(batch.type);
  Result<std::vector<ItemResult>> results =
      handler == handlers_.end()
          ? Fail("unknown_type", "This worker has no handler for the job's type.")
          : handler->second->Run(inputs);
  if (results && results->size() != inputs.size()) {
    results = Fail("handler_error", "The handler returned the wrong number of results.");
  }
  for (std::size_t k = 0; k < index.size(); ++k) {
    const auto& job = batch.jobs[index[k]];
    JobOutcome outcome{job.id, job.attempt, false, {}, {}, {}};
    if (!results) {
      outcome.error_code = results.error().code;
      outcome.error_message = results.error().message;
    } else if (auto& item = (*results)[k]; item) {
      outcome.succeeded = true;
      outcome.result = std::move(*item);
    } else {
      outcome.error_code = item.error().code;
      outcome.error_message = item.error().message;
    }
    outcomes.push_back(std::move(outcome));
  }
  if (!results) {
    spdlog::error("batch {} ({} x {}) failed: {}", batch.batch_id, inputs.size(), batch.type,
                  results.error().message);
  }
  auto written = with_retry([&] { return store_.Finish(outcomes); });
  if (!written) spdlog::warn("batch {}: results not written before stop", batch.batch_id);
}

}  // namespace batchq
