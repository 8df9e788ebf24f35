// A seeded discrete-event simulation of the whole broker core: Poisson arrivals that a
// simulated gateway makes durable in a simulated Redis (with the fenced start and
// finish of the real Lua scripts) and submits; workers that claim, run batches by the
// `sleep` cost model (a + b·n) with 2 credits each and answer DONE; heartbeats and the
// recovery sweep on their intervals. Failures are scripted: a worker that dies mid-batch
// and goes silent, a poison job that kills every worker that runs it, and a broker
// restart that loses every queue.
// Asserts invariants, not speeds: every job ends, no result is written twice, no job
// dispatched after its deadline, max_delay never exceeded while a credit was free (when
// nothing fails), batch limits kept, only the poison job fails.
#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <unordered_map>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "broker/broker_core.h"

namespace batchq {
namespace {

using namespace std::chrono_literals;
using Nanos = std::chrono::nanoseconds;

struct SimParams {
  double load = 0.3;  // fraction of the workers' capacity at full batches
  bool adaptive = true;
  std::uint64_t seed = 1;
  Nanos duration = 1s;
  double deadline_share = 0.2;             // jobs that carry an 8 ms dispatch deadline
  std::optional<Nanos> kill_worker_at;     // the busiest worker dies (silent) then
  std::optional<Nanos> restart_broker_at;  // the core is replaced by a new one then
  bool poison = false;                     // job j5 kills every worker that runs it
};

struct SimResult {
  std::size_t arrived = 0;
  std::size_t succeeded = 0;
  std::size_t expired = 0;
  std::size_t failed = 0;
  std::size_t unfinished = 0;
  std::size_t batches = 0;
  std::size_t dispatched = 0;
  double mean_batch = 0;
  Nanos p99_wait{0};
  std::map<std::string, std::string> failures;  // id -> error code
};

class Simulation {
 public:
  static constexpr std::uint32_t kWorkers = 2;
  static constexpr std::uint32_t kCredits = 2;
  static constexpr std::uint32_t kMaxBatch = 32;
  static constexpr Nanos kMaxDelay = 5ms;
  static constexpr Nanos kFixed = 2ms;
  static constexpr Nanos kPerItem = 50us;
  static constexpr Nanos kHeartbeat = 100ms;
  static constexpr Nanos kSweep = 200ms;
  static constexpr Nanos kSweepGrace = 300ms;
  static constexpr Nanos kDrain = 3s;  // after the last arrival, for everything to end
  static constexpr std::uint32_t kMaxAttempts = 3;

  explicit Simulation(const SimParams& params) : params_(params), rng_(params.seed) {
    const double capacity_per_s =
        kWorkers * kMaxBatch / std::chrono::duration<double>(kFixed + kPerItem * kMaxBatch).count();
    arrival_gap_ = std::exponential_distribution<double>(capacity_per_s * params.load);
    core_ = MakeCore();
    for (std::uint32_t i = 0; i < kWorkers; ++i) StartWorker();
  }

  SimResult Run() {
    const MonotonicTime end_arrivals = start_ + params_.duration;
    const MonotonicTime end = end_arrivals + kDrain;
    MonotonicTime next_arrival = now_ + Gap();
    MonotonicTime next_heartbeat = now_ + kHeartbeat;
    MonotonicTime next_sweep = now_ + kSweep;
    constexpr MonotonicTime kNever = MonotonicTime::max();
    MonotonicTime kill = params_.kill_worker_at ? start_ + *params_.kill_worker_at : kNever;
    MonotonicTime restart =
        params_.restart_broker_at ? start_ + *params_.restart_broker_at : kNever;
    while (true) {
      MonotonicTime next = std::min({next_heartbeat, next_sweep, NextCompletion()});
      if (next_arrival < end_arrivals) next = std::min(next, next_arrival);
      if (core_->wake_at()) next = std::min(next, std::max(*core_->wake_at(), now_));
      next = std::min({next, kill, restart});
      if (next > end) break;
      EXPECT_GE(next, now_) << "time went backwards";
      now_ = next;
      Complete();
      if (now_ == next_arrival && now_ < end_arrivals) {
        Arrive();
        next_arrival = now_ + Gap();
      }
      if (now_ >= kill) {
        KillBusiestWorker();
        kill = kNever;
      }
      if (now_ >= restart) {
        RestartBroker();
        restart = kNever;
      }
      if (now_ >= next_heartbeat) {
        Heartbeats();
        next_heartbeat = now_ + kHeartbeat;
      }
      if (now_ >= next_sweep) {
        Sweep();
        next_sweep = now_ + kSweep;
      }
      Effects out;
      core_->OnTick(At(), out);
      Apply(std::move(out));
    }
    return Summarise();
  }

 private:
  // The simulated Redis record of one job.
  struct Record {
    JobStatus status = JobStatus::kQueued;
    std::uint32_t attempts = 0;
    MonotonicTime created{};
    std::optional<MonotonicTime> deadline;
    MonotonicTime started{};
    std::string error_code;
    int results_written = 0;
  };
  struct Worker {
    std::string routing;
    bool alive = true;
    std::deque<wire::Batch> batches;  // the front one runs
    MonotonicTime busy_until{};
  };

  std::unique_ptr<BrokerCore> MakeCore() {
    TypeSettings settings;
    settings.name = "sleep";
    settings.max_batch_size = kMaxBatch;
    settings.max_delay = std::chrono::duration_cast<std::chrono::microseconds>(kMaxDelay);
    settings.max_queue = 10'000'000;
    settings.adaptive = params_.adaptive;
    BrokerCore::Options options;
    options.policy = BatchPolicy::Options{TypeSettings{}, 100ms};
    options.types = {settings};
    options.heartbeat_interval = std::chrono::duration_cast<std::chrono::milliseconds>(kHeartbeat);
    options.heartbeat_liveness = 3;
    options.max_attempts = kMaxAttempts;
    options.running_lease = 60s;
    options.batch_prefix = fmt::format("b{}", ++cores_);
    return std::make_unique<BrokerCore>(options);
  }

  Now At() const {
    return Now{now_, WallMicros(1'800'000'000'000'000) +
                         std::chrono::duration_cast<WallMicros>(now_ - start_)};
  }
  Nanos Gap() { return Nanos(static_cast<std::int64_t>(arrival_gap_(rng_) * 1e9)); }
  static Nanos Cost(std::size_t size) {
    return kFixed + kPerItem * static_cast<std::int64_t>(size);
  }

  void StartWorker() {
    workers_.emplace_back();
    workers_.back().routing = fmt::format("w{}", ++routings_);
    Effects out;
    core_->OnWorkerMessage(workers_.back().routing,
                           wire::Ready{workers_.back().routing, {"sleep"}, kCredits, "cpu", "cpu"},
                           At(), out);
    Apply(std::move(out));
  }

  std::uint32_t FreeCredits() const {
    std::uint32_t free = 0;
    for (const auto& worker : workers_) {
      if (worker.alive)
        free += kCredits - std::min<std::uint32_t>(
                               kCredits, static_cast<std::uint32_t>(worker.batches.size()));
    }
    return free;
  }

  MonotonicTime NextCompletion() const {
    MonotonicTime next = MonotonicTime::max();
    for (const auto& worker : workers_) {
      if (worker.alive && !worker.batches.empty()) next = std::min(next, worker.busy_until);
    }
    return next;
  }

  void Arrive() {
    const std::string id = fmt::format("j{}", result_.arrived++);
    Record& record = redis_[id];
    record.created = now_;
    if (std::uniform_real_distribution<double>(0, 1)(rng_) < params_.deadline_share) {
      record.deadline = now_ + 8ms;
    }
    const std::int64_t timeout_ms = record.deadline ? 8 : 0;
    // Three tenants share the type (one weighs double), so fair share runs under every
    // failure the simulation makes; every invariant holds whoever's turn it is.
    static constexpr const char* kTenants[] = {"a", "b", "c"};
    const std::size_t tenant = std::uniform_int_distribution<std::size_t>(0, 2)(rng_);
    Effects out;
    core_->OnSubmit(
        "gw",
        wire::Submit{1,
                     {wire::SubmitJob{id, "sleep", 0, 0, "null", At().wall.count(), timeout_ms,
                                      kTenants[tenant], tenant == 0 ? 2u : 1u, 0}}},
        At(), out);
    Apply(std::move(out));
  }

  // A worker's claim, as the Start script: queued, or running under an older attempt.
  bool Claim(const wire::BatchJob& job) {
    Record& record = redis_.at(job.id);
    const bool claimable = record.status == JobStatus::kQueued ||
                           (record.status == JobStatus::kRunning && record.attempts < job.attempt);
    if (!claimable) return false;
    record.status = JobStatus::kRunning;
    record.attempts = job.attempt;
    record.started = now_;
    return true;
  }

  void Complete() {
    for (auto& worker : workers_) {
      while (worker.alive && !worker.batches.empty() && worker.busy_until <= now_) {
        const bool credits_were_gone = FreeCredits() == 0;
        wire::Batch batch = std::move(worker.batches.front());
        worker.batches.pop_front();
        for (const auto& job : batch.jobs) {
          Record& record = redis_.at(job.id);
          // The Finish script's fencing: only the current attempt of a running job.
          if (record.status == JobStatus::kRunning && record.attempts == job.attempt) {
            record.status = JobStatus::kSucceeded;
            ++record.results_written;
          }
        }
        if (credits_were_gone) credit_free_since_ = worker.busy_until;
        Effects out;
        core_->OnWorkerMessage(worker.routing,
                               wire::Done{batch.batch_id,
                                          static_cast<std::uint32_t>(batch.jobs.size()),
                                          std::chrono::duration_cast<std::chrono::microseconds>(
                                              Cost(batch.jobs.size()))
                                              .count(),
                                          {}},
                               At(), out);
        Apply(std::move(out));
        if (!worker.batches.empty()) StartFront(worker, worker.busy_until);
      }
    }
  }

  // The front batch starts: its jobs are claimed; a poison job kills the worker.
  void StartFront(Worker& worker, MonotonicTime at) {
    worker.busy_until = at + Cost(worker.batches.front().jobs.size());
    bool poisoned = false;
    for (const auto& job : worker.batches.front().jobs) {
      Claim(job);
      poisoned = poisoned || (params_.poison && job.id == "j5");
    }
    if (poisoned) Die(worker, /*restart=*/true);
  }

  void Die(Worker& worker, bool restart) {
    worker.alive = false;
    worker.batches.clear();
    if (restart) pending_restarts_.push_back(now_ + 50ms);
  }

  void KillBusiestWorker() {
    auto busiest =
        std::max_element(workers_.begin(), workers_.end(), [](const Worker& a, const Worker& b) {
          return a.alive && (!b.alive || a.batches.size() < b.batches.size());
        });
    Die(*busiest, /*restart=*/true);
  }

  void RestartBroker() {
    core_ = MakeCore();  // every queue and in-flight record is gone
    // Workers keep running what they hold; the new core does not know them, so their
    // next message is answered with DISCONNECT and they announce themselves again.
  }

  void Heartbeats() {
    for (auto it = pending_restarts_.begin(); it != pending_restarts_.end();) {
      if (*it <= now_) {
        StartWorker();
        it = pending_restarts_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& worker : workers_) {
      if (!worker.alive) continue;
      Effects out;
      core_->OnWorkerMessage(worker.routing, wire::Heartbeat{At().wall.count()}, At(), out);
      Apply(std::move(out));
    }
    Effects out;
    core_->OnHeartbeatTick(At(), out);
    Apply(std::move(out));
  }

  void Sweep() {
    std::vector<std::string> pending;
    for (const auto& [id, record] : redis_) {
      if (!IsTerminal(record.status) && record.created + kSweepGrace <= now_) pending.push_back(id);
    }
    std::vector<JobRecord> records;
    for (const auto& id : core_->UnknownIds(std::move(pending))) {
      const Record& stored = redis_.at(id);
      JobRecord record;
      record.id = id;
      record.type = "sleep";
      record.status = stored.status;
      record.attempts = stored.attempts;
      record.input = "null";
      record.created = At().wall - std::chrono::duration_cast<WallMicros>(now_ - stored.created);
      record.started = At().wall - std::chrono::duration_cast<WallMicros>(now_ - stored.started);
      record.timeout_ms = stored.deadline ? 8 : 0;
      records.push_back(std::move(record));
    }
    Effects out;
    core_->OnSweep(std::move(records), At(), out);
    Apply(std::move(out));
  }

  Worker* FindAlive(const std::string& routing) {
    for (auto& worker : workers_) {
      if (worker.routing == routing && worker.alive) return &worker;
    }
    return nullptr;
  }

  void Apply(Effects out) {
    for (auto& ending : out.endings) {
      for (const auto& id : ending.ids) {
        Record& record = redis_.at(id);
        if (IsTerminal(record.status)) continue;  // the Terminate script's rule
        record.status = ending.status;
        record.error_code = std::string(Name(ending.code));
        if (ending.status == JobStatus::kExpired) {
          EXPECT_TRUE(record.deadline) << id << " expired without a deadline";
          if (record.deadline) {
            EXPECT_GT(now_, *record.deadline) << id << " expired early";
          }
        }
      }
      core_->OnEndingsWritten(ending.ids);
    }
    for (auto& outbound : out.to_workers) {
      Worker* worker = FindAlive(outbound.routing);
      if (worker == nullptr) {
        // A dead peer: the send fails, as ROUTER_MANDATORY makes it.
        Effects lost;
        core_->OnUndelivered(outbound.routing, outbound.message);
        core_->OnWorkerUnreachable(outbound.routing, lost);
        Apply(std::move(lost));
        continue;
      }
      if (std::holds_alternative<wire::Disconnect>(outbound.message)) {
        Reannounce(*worker);
      } else if (auto* batch = std::get_if<wire::Batch>(&outbound.message)) {
        Receive(*worker, std::move(*batch));
      }
    }
  }

  // As the real worker: a new socket (so a new routing id), and what it holds runs on.
  void Reannounce(Worker& worker) {
    worker.routing = fmt::format("w{}", ++routings_);
    Effects out;
    core_->OnWorkerMessage(
        worker.routing, wire::Ready{worker.routing, {"sleep"}, kCredits, "cpu", "cpu"}, At(), out);
    Apply(std::move(out));
  }

  void Receive(Worker& worker, wire::Batch batch) {
    const std::string current = fmt::format("b{}-", cores_);
    EXPECT_LT(
        std::count_if(worker.batches.begin(), worker.batches.end(),
                      [&](const wire::Batch& held) { return held.batch_id.starts_with(current); }),
        kCredits)
        << "dispatched with no free credit";
    EXPECT_FALSE(batch.jobs.empty());
    EXPECT_LE(batch.jobs.size(), kMaxBatch);
    MonotonicTime oldest = MonotonicTime::max();
    for (const auto& job : batch.jobs) {
      const Record& record = redis_.at(job.id);
      EXPECT_FALSE(IsTerminal(record.status)) << job.id << " dispatched after it ended";
      if (job.attempt == 1 && record.deadline) {
        EXPECT_LE(now_, *record.deadline) << job.id << " dispatched too late";
      }
      if (job.attempt == 1) {
        oldest = std::min(oldest, record.created);
        waits_.push_back(now_ - record.created);
      }
    }
    if (!params_.kill_worker_at && !params_.restart_broker_at && !params_.poison &&
        oldest != MonotonicTime::max()) {
      // max_delay is a hard bound whenever a credit was free: late only by waiting for one.
      EXPECT_LE(now_, std::max(oldest + kMaxDelay, credit_free_since_))
          << "batch held past max_delay while a credit was free";
    }
    ++result_.batches;
    result_.dispatched += batch.jobs.size();
    worker.batches.push_back(std::move(batch));
    if (worker.batches.size() == 1) StartFront(worker, now_);
  }

  SimResult Summarise() {
    SimResult result = result_;
    for (const auto& [id, record] : redis_) {
      EXPECT_LE(record.results_written, 1) << id << " has a result written twice";
      switch (record.status) {
        case JobStatus::kSucceeded:
          ++result.succeeded;
          break;
        case JobStatus::kExpired:
          ++result.expired;
          break;
        case JobStatus::kFailed:
          ++result.failed;
          result.failures[id] = record.error_code;
          break;
        default:
          ++result.unfinished;
          break;
      }
    }
    result.mean_batch =
        result.batches ? static_cast<double>(result.dispatched) / result.batches : 0;
    if (!waits_.empty()) {
      std::sort(waits_.begin(), waits_.end());
      result.p99_wait = waits_[waits_.size() * 99 / 100];
    }
    return result;
  }

  const SimParams params_;
  std::mt19937_64 rng_;
  std::exponential_distribution<double> arrival_gap_;
  const MonotonicTime start_{1h};
  MonotonicTime now_ = start_;
  int cores_ = 0;
  int routings_ = 0;
  std::unique_ptr<BrokerCore> core_;
  std::vector<Worker> workers_;
  std::vector<MonotonicTime> pending_restarts_;
  std::map<std::string, Record> redis_;
  std::vector<Nanos> waits_;
  MonotonicTime credit_free_since_{};
  SimResult result_;
};

class BrokerSimulationTest : public ::testing::TestWithParam<std::tuple<double, bool>> {};

TEST_P(BrokerSimulationTest, KeepsEveryInvariantAndEndsEveryJob) {
  const auto [load, adaptive] = GetParam();
  for (std::uint64_t seed : {1, 2, 3}) {
    SimParams params;
    params.load = load;
    params.adaptive = adaptive;
    params.seed = seed;
    const SimResult result = Simulation(params).Run();
    EXPECT_GT(result.dispatched, 0u);
    EXPECT_EQ(result.unfinished, 0u) << "seed " << seed;
    EXPECT_EQ(result.failed, 0u) << "seed " << seed;
    EXPECT_EQ(result.succeeded + result.expired, result.arrived) << "seed " << seed;
  }
}

INSTANTIATE_TEST_SUITE_P(Loads, BrokerSimulationTest,
                         ::testing::Combine(::testing::Values(0.3, 0.9, 1.5), ::testing::Bool()));

TEST(BrokerSimulationBehaviour, OverloadFillsBatches) {
  SimParams params;
  params.load = 1.5;
  params.deadline_share = 0;
  const SimResult result = Simulation(params).Run();
  EXPECT_GE(result.mean_batch, 0.95 * Simulation::kMaxBatch);
}

TEST(BrokerSimulationBehaviour, LightLoadWaitsLessWithAdaptiveWaiting) {
  SimParams params;
  params.load = 0.1;
  params.deadline_share = 0;
  params.adaptive = false;
  const SimResult fixed = Simulation(params).Run();
  params.adaptive = true;
  const SimResult adaptive = Simulation(params).Run();
  // Fixed delay holds lone jobs for max_delay; adaptive sends them to the idle worker.
  EXPECT_LT(adaptive.p99_wait, fixed.p99_wait / 2);
  EXPECT_LE(fixed.p99_wait, Simulation::kMaxDelay);
}

TEST(BrokerSimulationFailures, AWorkerDyingMidBatchLosesNoJob) {
  for (std::uint64_t seed : {1, 2, 3}) {
    SimParams params;
    params.load = 0.7;
    params.seed = seed;
    params.deadline_share = 0;
    params.kill_worker_at = 400ms;
    const SimResult result = Simulation(params).Run();
    EXPECT_EQ(result.unfinished, 0u) << "seed " << seed;
    EXPECT_EQ(result.failed, 0u) << "seed " << seed;
    EXPECT_EQ(result.succeeded, result.arrived) << "seed " << seed;
  }
}

TEST(BrokerSimulationFailures, APoisonJobFailsAloneWithWorkerLost) {
  for (std::uint64_t seed : {1, 2, 3}) {
    SimParams params;
    params.load = 0.5;
    params.seed = seed;
    params.deadline_share = 0;
    params.poison = true;
    const SimResult result = Simulation(params).Run();
    EXPECT_EQ(result.unfinished, 0u) << "seed " << seed;
    EXPECT_EQ(
        result.failures,
        (std::map<std::string, std::string>{{"j5", std::string(Name(ErrorCode::kWorkerLost))}}))
        << "seed " << seed;
    EXPECT_EQ(result.succeeded + 1, result.arrived) << "seed " << seed;
  }
}

TEST(BrokerSimulationFailures, ABrokerRestartLosesNoJobAndRunsNoneTwice) {
  for (std::uint64_t seed : {1, 2, 3}) {
    SimParams params;
    params.load = 0.7;
    params.seed = seed;
    params.deadline_share = 0.2;
    params.restart_broker_at = 500ms;
    const SimResult result = Simulation(params).Run();
    EXPECT_EQ(result.unfinished, 0u) << "seed " << seed;
    EXPECT_EQ(result.failed, 0u) << "seed " << seed;
    EXPECT_EQ(result.succeeded + result.expired, result.arrived) << "seed " << seed;
  }
}

}  // namespace
}  // namespace batchq
