// The worker's BatchExecutor on a real Redis, under the worker's ACL user: a run thread
// with nothing to overlap claims and writes its batches itself (no hand-off, so no
// wake-up of another thread on the job's path); one busy running a batch leaves the
// next claim to the claim thread and the running batch's results to the writer, so that
// claims and writes still overlap the handler under load.
#include <poll.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/scope_exit.hpp>

#include "common/job_store.h"
#include "common/redis_connection.h"
#include "common/wake_signal.h"
#include "gpu_worker/batch_executor.h"
#include "tests/support/role_stores.h"
#include "tests/support/role_stores_test.h"
#include "tests/support/stack.h"

namespace batchq::test {
namespace {

using namespace std::chrono_literals;

// Answers each input with itself; while closed, a batch waits in Run until Open().
class GateHandler : public Handler {
 public:
  Result<std::vector<ItemResult>> Run(std::span<const std::string_view> inputs) override {
    std::unique_lock lock(mutex_);
    ++entered_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return open_; });
    std::vector<ItemResult> results;
    for (const auto input : inputs) results.emplace_back(std::string(input));
    return results;
  }
  void Close() {
    std::lock_guard lock(mutex_);
    open_ = false;
  }
  void Open() {
    {
      std::lock_guard lock(mutex_);
      open_ = true;
    }
    changed_.notify_all();
  }
  // Whether `count` batches entered Run within 10 s.
  bool WaitEntered(int count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 10s, [&] { return entered_ >= count; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = true;
  int entered_ = 0;
};

class BatchExecutorTest : public RoleStoresTest {
 protected:
  // A test that failed with the gate closed must not leave Stop waiting on its batch.
  ~BatchExecutorTest() override {
    if (gate_ != nullptr) gate_->Open();
  }

  void SetUp() override {
    RoleStoresTest::SetUp();
    if (HasFatalFailure()) return;
    MakeExecutor(0us);
  }

  // A new executor (and gate) in place of the last; `claim_at_write_below` as its option,
  // and its Redis commands' timeout.
  void MakeExecutor(std::chrono::microseconds claim_at_write_below,
                    std::chrono::milliseconds command_timeout = 2s) {
    if (gate_ != nullptr) gate_->Open();
    executor_.reset();
    auto endpoint =
        ResolveRedisEndpoint(stack_.redis_url("worker"), stack_.redis_password_file("worker"));
    ASSERT_TRUE(endpoint) << endpoint.error().message;
    auto gate = std::make_unique<GateHandler>();
    gate_ = gate.get();
    BatchExecutor::Handlers handlers;
    handlers.emplace("upper", std::move(gate));
    RedisConnection::Options redis{*endpoint};
    redis.command_timeout = command_timeout;
    BatchExecutor::Options options{redis, {}, "w1"};
    options.claim_at_write_below = claim_at_write_below;
    executor_ =
        std::make_unique<BatchExecutor>(std::move(options), std::move(handlers), done_signal_);
  }

  // A batch of one new job, created in Redis as the gateway creates it.
  wire::Batch NewBatch(const std::string& name) {
    NewJob job;
    job.id = fmt::format("{}-{}", name, NowWallMicros().count());
    job.type = "upper";
    job.input = R"("in")";
    job.created = NowWallMicros();
    EXPECT_TRUE(roles_->gateway.Create(std::vector<NewJob>{job}));
    wire::Batch batch{name, "upper", NowWallMicros().count(), "idle_worker", {}, roles_->Epoch()};
    batch.jobs.push_back(wire::BatchJob{job.id, 1, job.input});
    return batch;
  }

  // A batch of one job that Redis was never asked about (for when Redis is gone).
  wire::Batch NewBatchWithoutRecord(const std::string& name) {
    wire::Batch batch{name, "upper", NowWallMicros().count(), "idle_worker", {}, 1};
    batch.jobs.push_back(wire::BatchJob{name + "-job", 1, R"("in")"});
    return batch;
  }

  // The DONEs taken until `count` came, or 10 s passed.
  std::vector<wire::Done> WaitDone(std::size_t count) {
    std::vector<wire::Done> done;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (done.size() < count && std::chrono::steady_clock::now() < deadline) {
      pollfd fd{done_signal_.fd(), POLLIN, 0};
      poll(&fd, 1, 100);
      done_signal_.Drain();
      for (auto& one : executor_->TakeDone()) done.push_back(std::move(one));
    }
    return done;
  }

  JobStatus StatusOf(const wire::Batch& batch) {
    auto record = roles_->gateway.Get(batch.jobs.front().id);
    if (!record || !*record) return JobStatus::kQueued;
    return (*record)->status;
  }

  WakeSignal done_signal_;
  GateHandler* gate_ = nullptr;
  std::unique_ptr<BatchExecutor> executor_;
};

TEST_F(BatchExecutorTest, AnIdleRunThreadClaimsAndWritesItsBatchesItself) {
  // One batch at a time, each sent once the last is done, as under light load.
  for (int i = 0; i < 3; ++i) {
    const wire::Batch batch = NewBatch(fmt::format("light-{}", i));
    executor_->Enqueue(batch);
    ASSERT_EQ(WaitDone(1).size(), 1u) << "batch " << i << " never came back done";
    EXPECT_EQ(StatusOf(batch), JobStatus::kSucceeded);
  }
  const auto counts = executor_->counts();
  EXPECT_EQ(counts.claimed_by_runner, 3u) << "the claim thread claimed for an idle run thread";
  EXPECT_EQ(counts.written_by_runner, 3u) << "the writer wrote for an idle run thread";
}

TEST_F(BatchExecutorTest, ABusyRunThreadLeavesTheNextClaimAndItsResultsToTheOtherThreads) {
  gate_->Close();
  const wire::Batch first = NewBatch("first");
  executor_->Enqueue(first);
  ASSERT_TRUE(gate_->WaitEntered(1)) << "the first batch never ran";

  // The run thread waits in the handler: only the claim thread can claim the second.
  const wire::Batch second = NewBatch("second");
  executor_->Enqueue(second);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (StatusOf(second) != JobStatus::kRunning && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);  // a poll of Redis for the claim, not a wait for time
  }
  ASSERT_EQ(StatusOf(second), JobStatus::kRunning) << "the second batch was not claimed";
  EXPECT_EQ(StatusOf(first), JobStatus::kRunning);

  gate_->Open();
  ASSERT_EQ(WaitDone(2).size(), 2u);
  EXPECT_EQ(StatusOf(first), JobStatus::kSucceeded);
  EXPECT_EQ(StatusOf(second), JobStatus::kSucceeded);
  const auto counts = executor_->counts();
  EXPECT_EQ(counts.claimed_by_runner, 1u) << "only the first batch found the run thread idle";
  // The first batch's results go to the writer, as the second is next; the second's
  // may be written by either, depending on whether the writer is done with the first.
  EXPECT_LE(counts.written_by_runner, 1u) << "the run thread wrote with a batch next";
}

TEST_F(BatchExecutorTest, ABatchItsIdleRunThreadCouldNotClaimBeforeStoppingIsNotReportedDone) {
  // Redis is gone: the run thread's claim of the batch retries until Stop gives it up.
  stack_.redis().Kill();
  executor_->Enqueue(NewBatchWithoutRecord("unclaimed"));
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (executor_->counts().claimed_by_runner == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);  // a poll for the claim to begin, not a wait for time
  }
  ASSERT_EQ(executor_->counts().claimed_by_runner, 1u) << "the run thread never began the claim";
  executor_->Stop();
  // A DONE would tell the broker the batch's jobs are over; without one, it queues them
  // again when this worker disconnects.
  EXPECT_TRUE(executor_->TakeDone().empty()) << "a batch never claimed was reported done";
}

// Whether a thread of this process is named `name`.
bool HasThread(const std::string& name) {
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::string comm;
    std::getline(std::ifstream(task.path() / "comm"), comm);
    if (comm == name) return true;
  }
  return false;
}

TEST_F(BatchExecutorTest, ABatchItsIdleRunThreadClaimedAsTheStopCameRunsAndIsWritten) {
  // The claim waits in Redis, whose writes are paused, while Stop comes; then Redis takes
  // it. Its jobs read `running` from then on, so the batch is this worker's running
  // batch, which a stopping worker runs and writes (a SIGTERM between the claim and the
  // run thread's next look at the stop left it running until the broker queued it again).
  MakeExecutor(0us, 60s);  // the claim outwaits the pause
  const wire::Batch batch = NewBatch("claimed-as-stopping");
  RedisConnection admin(RedisConnection::Options{*ParseRedisUrl(stack_.redis_url())});
  ASSERT_TRUE(admin.Command({"CLIENT", "PAUSE", "60000", "WRITE"}));
  std::thread stopper;
  // However the test ends: Redis writes again and Stop has returned.
  BOOST_SCOPE_EXIT_ALL(&) {
    admin.Command({"CLIENT", "UNPAUSE"});
    if (stopper.joinable()) stopper.join();
  };
  executor_->Enqueue(batch);
  // The worker's own connection (ACL user "worker") waits on the pause: its claim.
  ASSERT_TRUE(WaitFor([&] {
    auto clients = admin.Command({"CLIENT", "LIST"});
    if (!clients) return false;
    std::istringstream lines(clients->str);
    for (std::string line; std::getline(lines, line);) {
      if (line.find(" user=worker ") != std::string::npos &&
          line.find(" flags=b ") != std::string::npos &&
          line.find(" cmd=evalsha ") != std::string::npos) {
        return true;
      }
    }
    return false;
  })) << "the run thread's claim never reached Redis";
  stopper = std::thread([this] { executor_->Stop(); });
  // Stop sets the stop first, then joins the claim thread, which leaves on it.
  ASSERT_TRUE(WaitFor([] { return !HasThread("claim"); })) << "Stop never began";
  ASSERT_TRUE(admin.Command({"CLIENT", "UNPAUSE"}));
  stopper.join();
  EXPECT_EQ(StatusOf(batch), JobStatus::kSucceeded)
      << "a batch claimed as the stop came was not run and written";
  EXPECT_EQ(executor_->TakeDone().size(), 1u) << "the batch run on the stop was not reported";
  EXPECT_EQ(executor_->counts().claimed_by_runner, 1u);
}

TEST_F(BatchExecutorTest, ATypeWhoseLastBatchRanShortIsClaimedByTheWriteOfItsResults) {
  MakeExecutor(1h);  // every batch is short, by this bound
  // The first batch of the type is claimed before it runs: nothing ran yet to say it is
  // short.
  gate_->Close();
  const wire::Batch first = NewBatch("first");
  executor_->Enqueue(first);
  ASSERT_TRUE(gate_->WaitEntered(1)) << "the first batch never ran";
  EXPECT_EQ(StatusOf(first), JobStatus::kRunning) << "the first batch was not claimed first";
  gate_->Open();
  ASSERT_EQ(WaitDone(1).size(), 1u);
  EXPECT_EQ(executor_->counts().claimed_at_write, 0u);

  // The next runs unclaimed: it still reads as queued while it runs, then as the write
  // claimed and ended it.
  gate_->Close();
  const wire::Batch second = NewBatch("second");
  executor_->Enqueue(second);
  ASSERT_TRUE(gate_->WaitEntered(2)) << "the second batch never ran";
  EXPECT_EQ(StatusOf(second), JobStatus::kQueued) << "the second batch was claimed first";
  gate_->Open();
  ASSERT_EQ(WaitDone(1).size(), 1u);
  EXPECT_EQ(executor_->counts().claimed_at_write, 1u);
  auto record = roles_->gateway.Get(second.jobs.front().id);
  ASSERT_TRUE(record && *record);
  EXPECT_EQ((*record)->status, JobStatus::kSucceeded);
  EXPECT_EQ((*record)->worker, "w1");
  EXPECT_EQ((*record)->batch_id, "second");
  EXPECT_EQ((*record)->attempts, 1u);
}

TEST_F(BatchExecutorTest, ABatchOfWhichNothingRanLeavesTheNextClaimedFirst) {
  MakeExecutor(1h);  // every batch that runs is short, by this bound
  // Its one job is cancelled before the claim: the batch claims and runs nothing.
  const wire::Batch empty = NewBatch("cancelled");
  JobStatus status{};
  ASSERT_EQ(roles_->gateway.Cancel(empty.jobs.front().id, "test", &status),
            CancelOutcome::kCancelled);
  executor_->Enqueue(empty);
  ASSERT_EQ(WaitDone(1).size(), 1u);

  gate_->Close();
  const wire::Batch next = NewBatch("next");
  executor_->Enqueue(next);
  ASSERT_TRUE(gate_->WaitEntered(1)) << "the next batch never ran";
  EXPECT_EQ(StatusOf(next), JobStatus::kRunning) << "a batch that ran nothing counted as short";
  gate_->Open();
  ASSERT_EQ(WaitDone(1).size(), 1u);
  EXPECT_EQ(executor_->counts().claimed_at_write, 0u);
}

TEST_F(BatchExecutorTest, WithoutABoundEveryBatchIsClaimedFirst) {
  for (int i = 0; i < 2; ++i) {
    gate_->Close();
    const wire::Batch batch = NewBatch(fmt::format("claimed-{}", i));
    executor_->Enqueue(batch);
    ASSERT_TRUE(gate_->WaitEntered(i + 1)) << "batch " << i << " never ran";
    EXPECT_EQ(StatusOf(batch), JobStatus::kRunning) << "batch " << i;
    gate_->Open();
    ASSERT_EQ(WaitDone(1).size(), 1u);
  }
  EXPECT_EQ(executor_->counts().claimed_at_write, 0u);
}

}  // namespace
}  // namespace batchq::test
