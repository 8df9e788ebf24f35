#include "broker/batch_policy.h"
#include "tests/broker/capacities.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace batchq {
namespace {

using namespace std::chrono_literals;

using namespace test_capacities;

TypeSettings Settings(std::string name, std::uint32_t max_batch, std::chrono::microseconds delay,
                      std::uint32_t max_queue = 1000, bool adaptive = false) {
  TypeSettings s;
  s.name = std::move(name);
  s.max_batch_size = max_batch;
  s.max_delay = delay;
  s.max_queue = max_queue;
  s.adaptive = adaptive;
  return s;
}

class BatchPolicyTest : public ::testing::Test {
 protected:
  BatchPolicyTest() : policy_(BatchPolicy::Options{Settings("", 8, 2ms, 50), 100ms}) {
    policy_.Configure(Settings("upper", 4, 5ms));
    policy_.Configure(Settings("sleep", 3, 10ms));
  }

  QueuedJob Job(std::string id, std::int32_t priority = 0,
                std::optional<MonotonicTime> deadline = std::nullopt, std::string input = "\"x\"") {
    return QueuedJob{std::move(id), "", priority, 0, std::move(input), now_, deadline};
  }
  void Enqueue(const std::string& type, QueuedJob job) {
    ASSERT_TRUE(policy_.Enqueue(type, std::move(job)));
  }
  void Enqueue(const std::string& type, const std::string& id, std::int32_t priority = 0) {
    Enqueue(type, Job(id, priority));
  }
  BatchPolicy::Decision Next(Capacity capacity = kBusyFree) {
    return policy_.Next(now_, [&](std::string_view) { return capacity; });
  }
  static std::vector<std::string> Ids(const ReadyBatch& batch) {
    std::vector<std::string> ids;
    for (const auto& job : batch.jobs) ids.push_back(job.id);
    return ids;
  }

  BatchPolicy policy_;
  MonotonicTime now_{std::chrono::seconds(1000)};
};

TEST_F(BatchPolicyTest, EmitsFullBatchAtOnce) {
  for (int i = 0; i < 4; ++i) Enqueue("upper", "j" + std::to_string(i));
  auto decision = Next();
  ASSERT_TRUE(decision.batch);
  EXPECT_EQ(decision.batch->reason, CloseReason::kFull);
  EXPECT_EQ(Ids(*decision.batch), (std::vector<std::string>{"j0", "j1", "j2", "j3"}));
  EXPECT_EQ(policy_.Depth("upper"), 0u);
}

TEST(BatchSizeBucketTest, PowersOfTwoWithAnOpenLastBucket) {
  EXPECT_EQ(BatchSizeBucket(1), 0u);
  EXPECT_EQ(BatchSizeBucket(2), 1u);
  EXPECT_EQ(BatchSizeBucket(3), 2u);
  EXPECT_EQ(BatchSizeBucket(4), 2u);
  EXPECT_EQ(BatchSizeBucket(5), 3u);
  EXPECT_EQ(BatchSizeBucket(32), 5u);
  EXPECT_EQ(BatchSizeBucket(33), 6u);
  EXPECT_EQ(BatchSizeBucket(1024), 10u);
  EXPECT_EQ(BatchSizeBucket(1025), 11u);
  EXPECT_EQ(BatchSizeBucket(1u << 20), kBatchSizeBuckets - 1);
}

TEST_F(BatchPolicyTest, StatsCountDispatchedBatchesBySize) {
  for (int i = 0; i < 10; ++i) Enqueue("upper", "j" + std::to_string(i));
  while (Next().batch) {
  }
  // max_batch_size 4: batches of 4, 4 and then 2 once max_delay has passed.
  now_ += 5ms;
  ASSERT_TRUE(Next().batch);
  for (const auto& stats : policy_.Stats(now_)) {
    std::array<std::uint64_t, kBatchSizeBuckets> want{};
    if (stats.settings.name == "upper") {
      want[BatchSizeBucket(4)] = 2;
      want[BatchSizeBucket(2)] = 1;
    }
    EXPECT_EQ(stats.batch_sizes, want) << stats.settings.name;
  }
}

TEST_F(BatchPolicyTest, NeverExceedsMaxBatchSize) {
  for (int i = 0; i < 10; ++i) Enqueue("upper", "j" + std::to_string(i));
  std::vector<std::size_t> sizes;
  for (auto decision = Next(); decision.batch; decision = Next()) {
    sizes.push_back(decision.batch->jobs.size());
  }
  EXPECT_EQ(sizes, (std::vector<std::size_t>{4, 4}));
  EXPECT_EQ(policy_.Depth("upper"), 2u);  // waits for its deadline
}

TEST_F(BatchPolicyTest, HoldsPartialBatchUntilMaxDelay) {
  Enqueue("upper", "a");
  now_ += 2ms;
  Enqueue("upper", "b");
  auto early = Next();
  EXPECT_FALSE(early.batch);
  ASSERT_TRUE(early.wake_at);
  EXPECT_EQ(*early.wake_at, now_ - 2ms + 5ms);  // the oldest job's max_delay
  now_ += 2999us;
  EXPECT_FALSE(Next().batch);
  now_ += 1us;
  auto due = Next();
  ASSERT_TRUE(due.batch);
  EXPECT_EQ(due.batch->reason, CloseReason::kMaxDelay);
  EXPECT_EQ(Ids(*due.batch), (std::vector<std::string>{"a", "b"}));
}

TEST_F(BatchPolicyTest, KeepsTypesApart) {
  Enqueue("upper", "u1");
  Enqueue("sleep", "s1");
  Enqueue("sleep", "s2");
  Enqueue("sleep", "s3");
  auto decision = Next();
  ASSERT_TRUE(decision.batch);
  EXPECT_EQ(decision.batch->type, "sleep");
  EXPECT_EQ(Ids(*decision.batch), (std::vector<std::string>{"s1", "s2", "s3"}));
  EXPECT_FALSE(Next().batch);
  EXPECT_EQ(policy_.Depth("upper"), 1u);
}

TEST_F(BatchPolicyTest, DispatchesNothingWithoutAFreeWorker) {
  for (int i = 0; i < 4; ++i) Enqueue("upper", "j" + std::to_string(i));
  now_ += 1h;
  auto decision = Next(kNoCredit);
  EXPECT_FALSE(decision.batch);
  // No own deadlines: the only wake-up is the queue lifetime (a day by default).
  ASSERT_TRUE(decision.wake_at);
  EXPECT_EQ(*decision.wake_at, now_ - 1h + 24h + 1ns);
  EXPECT_EQ(policy_.Depth("upper"), 4u);
}

TEST_F(BatchPolicyTest, BatchGrowsWhileWorkersAreBusy) {
  Enqueue("upper", "a");
  now_ += 50ms;
  EXPECT_FALSE(Next(kNoCredit).batch);
  Enqueue("upper", "b");
  Enqueue("upper", "c");
  auto decision = Next();
  ASSERT_TRUE(decision.batch);
  EXPECT_EQ(decision.batch->jobs.size(), 3u);
}

TEST_F(BatchPolicyTest, OnlyDispatchesTypesWithAFreeWorker) {
  for (int i = 0; i < 4; ++i) Enqueue("upper", "u" + std::to_string(i));
  for (int i = 0; i < 3; ++i) Enqueue("sleep", "s" + std::to_string(i));
  auto only_sleep = [](std::string_view type) { return type == "sleep" ? kBusyFree : kNoCredit; };
  auto decision = policy_.Next(now_, only_sleep);
  ASSERT_TRUE(decision.batch);
  EXPECT_EQ(decision.batch->type, "sleep");
  EXPECT_FALSE(policy_.Next(now_, only_sleep).batch);
}

TEST_F(BatchPolicyTest, HigherPriorityGoesFirst) {
  Enqueue("upper", "low1", 0);
  Enqueue("upper", "high", 5);
  Enqueue("upper", "low2", 0);
  Enqueue("upper", "mid", 1);
  Enqueue("upper", "low3", 0);
  auto decision = Next();
  ASSERT_TRUE(decision.batch);
  EXPECT_EQ(Ids(*decision.batch), (std::vector<std::string>{"high", "mid", "low1", "low2"}));
}

TEST_F(BatchPolicyTest, AgingServesALowPriorityJobWithinItsBound) {
  // Endless priority-5 load: a full batch of fresh high jobs every 10 ms. The priority-0
  // job gains a level per 100 ms, ties the newcomers after 500 ms and, being older, wins.
  const MonotonicTime start = now_;
  Enqueue("upper", "low", 0);
  std::optional<std::chrono::nanoseconds> served_after;
  for (int round = 0; round < 100 && !served_after; ++round) {
    for (int i = 0; i < 4; ++i) Enqueue("upper", fmt::format("high-{}-{}", round, i), 5);
    auto decision = Next();
    ASSERT_TRUE(decision.batch);
    for (const auto& job : decision.batch->jobs) {
      if (job.id == "low") served_after = now_ - start;
    }
    now_ += 10ms;
  }
  ASSERT_TRUE(served_after) << "the low-priority job starved";
  EXPECT_GE(*served_after, 500ms);
  EXPECT_LE(*served_after, 510ms);
}

TEST_F(BatchPolicyTest, RefusesPastQueueLimit) {
  policy_.Configure(Settings("tiny", 4, 5ms, 2));
  Enqueue("tiny", "a");
  Enqueue("tiny", "b");
  auto refused = policy_.Enqueue("tiny", Job("c"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kQueueFull);
  EXPECT_EQ(policy_.Depth("tiny"), 2u);
}

TEST_F(BatchPolicyTest, RefusesUnknownType) {
  auto refused = policy_.Enqueue("nope", Job("a"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kUnknownType);
}

TEST_F(BatchPolicyTest, RequeuedJobsGoFirstInTheirOrderAndIgnoreTheLimit) {
  policy_.Configure(Settings("tiny", 4, 5ms, 1));
  Enqueue("tiny", "new");
  policy_.Requeue("tiny", {Job("old1"), Job("old2")});
  EXPECT_EQ(policy_.Depth("tiny"), 3u);
  now_ += 5ms;
  auto decision = Next();
  ASSERT_TRUE(decision.batch);
  EXPECT_EQ(Ids(*decision.batch), (std::vector<std::string>{"old1", "old2", "new"}));
}

TEST_F(BatchPolicyTest, RequeueOfATypeNeverConfiguredIsABug) {
  EXPECT_THROW(policy_.Requeue("plugin", {Job("p")}), std::logic_error);
  EXPECT_FALSE(policy_.Knows("plugin"));
}

TEST_F(BatchPolicyTest, EveryQueuedJobLeavesByTheQueueLifetimeWhateverItsOwnDeadline) {
  BatchPolicy policy(BatchPolicy::Options{Settings("", 8, 2ms, 50), 100ms, 1h});
  policy.Configure(Settings("upper", 4, 5ms));
  auto next = [&] { return policy.Next(now_, [](std::string_view) { return kNoCredit; }); };
  ASSERT_TRUE(policy.Enqueue("upper", Job("no-deadline")));
  ASSERT_TRUE(policy.Enqueue("upper", Job("far", 0, now_ + 2h)));
  ASSERT_TRUE(policy.Enqueue("upper", Job("near", 0, now_ + 30min)));
  const auto start = now_;
  auto first = next();
  ASSERT_TRUE(first.wake_at);
  EXPECT_EQ(*first.wake_at, start + 30min + 1ns) << "its own deadline comes first";
  now_ = start + 1h;
  auto before = next();
  ASSERT_EQ(before.expired.size(), 1u);
  EXPECT_EQ(before.expired[0].id, "near");
  ASSERT_TRUE(before.wake_at);
  EXPECT_EQ(*before.wake_at, start + 1h + 1ns);
  now_ = *before.wake_at;
  std::vector<std::string> gone;
  for (const auto& job : next().expired) gone.push_back(job.id);
  std::sort(gone.begin(), gone.end());
  EXPECT_EQ(gone, (std::vector<std::string>{"far", "no-deadline"}));
  EXPECT_EQ(policy.Depth("upper"), 0u);
}

TEST_F(BatchPolicyTest, ServesTypesRoundRobin) {
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 4; ++i) Enqueue("upper", fmt::format("u{}{}", round, i));
    for (int i = 0; i < 3; ++i) Enqueue("sleep", fmt::format("s{}{}", round, i));
  }
  std::vector<std::string> order;
  for (int i = 0; i < 4; ++i) {
    auto decision = Next();
    ASSERT_TRUE(decision.batch);
    order.push_back(decision.batch->type);
  }
  EXPECT_NE(order[0], order[1]);
  EXPECT_NE(order[1], order[2]);
  EXPECT_NE(order[2], order[3]);
}

TEST_F(BatchPolicyTest, ExpiresJobsPastTheirDeadlineEvenWhileWorkersAreBusy) {
  Enqueue("upper", Job("soon", 0, now_ + 10ms));
  Enqueue("upper", Job("later", 0, now_ + 2h));
  Enqueue("upper", Job("never"));
  auto early = Next(kNoCredit);
  EXPECT_TRUE(early.expired.empty());
  ASSERT_TRUE(early.wake_at);
  EXPECT_EQ(*early.wake_at, now_ + 10ms + 1ns);
  now_ = *early.wake_at;
  auto due = Next(kNoCredit);
  ASSERT_EQ(due.expired.size(), 1u);
  EXPECT_EQ(due.expired[0].id, "soon");
  EXPECT_EQ(due.expired[0].type, "upper");
  EXPECT_EQ(policy_.Depth("upper"), 2u);
  now_ += 1h;
  auto batch = Next();
  ASSERT_TRUE(batch.batch);  // the expired job is not in it
  EXPECT_EQ(Ids(*batch.batch), (std::vector<std::string>{"later", "never"}));
}

TEST_F(BatchPolicyTest, TypeDefaultTimeoutAppliesToJobsWithoutTheirOwn) {
  auto settings = Settings("timed", 4, 1s);
  settings.default_timeout = 20ms;
  policy_.Configure(settings);
  Enqueue("timed", Job("a"));
  now_ += 20ms + 1ns;
  auto decision = Next(kNoCredit);
  ASSERT_EQ(decision.expired.size(), 1u);
  EXPECT_EQ(decision.expired[0].id, "a");
}

TEST_F(BatchPolicyTest, SendsEarlyWhenWaitingWouldMissAMembersDeadline) {
  policy_.Configure(Settings("slow", 8, 50ms));
  Enqueue("slow", Job("a"));
  Enqueue("slow", Job("b", 0, now_ + 10ms));
  auto early = Next();
  EXPECT_FALSE(early.batch);
  ASSERT_TRUE(early.wake_at);
  EXPECT_EQ(*early.wake_at, now_ + 10ms);
  now_ += 10ms;
  auto due = Next();
  ASSERT_TRUE(due.batch);
  EXPECT_EQ(due.batch->reason, CloseReason::kDeadline);
  EXPECT_EQ(due.batch->jobs.size(), 2u);
  EXPECT_TRUE(due.expired.empty());
}

TEST_F(BatchPolicyTest, PreferredSizeDispatchesTheLargestReachedAtOnce) {
  auto settings = Settings("pref", 16, 1s);
  settings.preferred_batch_sizes = {4, 8};
  policy_.Configure(settings);
  for (int i = 0; i < 3; ++i) Enqueue("pref", "p" + std::to_string(i));
  EXPECT_FALSE(Next().batch);
  for (int i = 3; i < 10; ++i) Enqueue("pref", "p" + std::to_string(i));
  auto decision = Next();
  ASSERT_TRUE(decision.batch);
  EXPECT_EQ(decision.batch->reason, CloseReason::kPreferred);
  EXPECT_EQ(decision.batch->jobs.size(), 8u);
  EXPECT_EQ(policy_.Depth("pref"), 2u);
}

TEST_F(BatchPolicyTest, MaxBatchBytesCapsTheBatch) {
  auto settings = Settings("bytes", 16, 1s);
  settings.max_batch_bytes = 10;
  policy_.Configure(settings);
  Enqueue("bytes", Job("a", 0, std::nullopt, "\"ab\""));  // 4 bytes each
  Enqueue("bytes", Job("b", 0, std::nullopt, "\"cd\""));
  EXPECT_FALSE(Next().batch);
  Enqueue("bytes", Job("c", 0, std::nullopt, "\"ef\""));  // 12 bytes queued
  auto decision = Next();
  ASSERT_TRUE(decision.batch);
  EXPECT_EQ(decision.batch->reason, CloseReason::kBytes);
  EXPECT_EQ(Ids(*decision.batch), (std::vector<std::string>{"a", "b"}));
  // A single input over the limit still runs, alone.
  Enqueue("bytes", Job("huge", 0, std::nullopt, std::string(40, 'x')));
  auto alone = Next();
  ASSERT_TRUE(alone.batch);
  EXPECT_EQ(Ids(*alone.batch), (std::vector<std::string>{"c"}));
  auto next = Next();
  ASSERT_TRUE(next.batch);
  EXPECT_EQ(Ids(*next.batch), (std::vector<std::string>{"huge"}));
}

TEST_F(BatchPolicyTest, CancelledJobIsNeverDispatched) {
  Enqueue("upper", "a");
  Enqueue("upper", "b");
  Enqueue("upper", "c");
  EXPECT_TRUE(policy_.Remove("b"));
  EXPECT_FALSE(policy_.Remove("b"));
  EXPECT_FALSE(policy_.Remove("zzz"));
  EXPECT_EQ(policy_.Depth("upper"), 2u);
  now_ += 5ms;
  auto decision = Next();
  ASSERT_TRUE(decision.batch);
  EXPECT_EQ(Ids(*decision.batch), (std::vector<std::string>{"a", "c"}));
}

TEST_F(BatchPolicyTest, SuspectJobsRunAloneAndOnlyOnAnIdleWorker) {
  // Jobs that were in flight on a worker that died come back as suspects: each runs by
  // itself on an idle worker, so a crash during its run is its own.
  std::vector<QueuedJob> lost;
  for (const char* id : {"a", "poison", "b"}) {
    QueuedJob job = Job(id);
    job.attempts = 1;
    job.suspect = true;
    lost.push_back(job);
  }
  policy_.Requeue("upper", std::move(lost));
  Enqueue("upper", "fresh");
  now_ += 5ms;
  EXPECT_FALSE(Next(kBusyFree).batch) << "a suspect must not go to a busy worker";
  std::vector<std::vector<std::string>> batches;
  for (auto decision = Next(kIdle); decision.batch; decision = Next(kIdle)) {
    batches.push_back(Ids(*decision.batch));
    const bool suspect = decision.batch->jobs.front().suspect;
    EXPECT_EQ(decision.batch->exclusive, suspect);
    EXPECT_EQ(decision.batch->reason == CloseReason::kIsolated, suspect);
  }
  EXPECT_EQ(batches, (std::vector<std::vector<std::string>>{{"a"}, {"poison"}, {"b"}, {"fresh"}}));
}

class AdaptivePolicyTest : public BatchPolicyTest {
 protected:
  AdaptivePolicyTest() {
    policy_.Configure(Settings("gpu", 64, 20ms, 100000, /*adaptive=*/true));
    // Learned cost: 2 ms + 50 µs per item.
    for (int i = 0; i < 5; ++i) {
      policy_.ObserveBatch("gpu", 1, 2050us);
      policy_.ObserveBatch("gpu", 32, 3600us);
    }
  }
  // Arrivals at `per_second` for `span`, then cancelled so the queue is empty again.
  void Arrivals(double per_second, std::chrono::nanoseconds span) {
    const auto gap = std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 / per_second));
    std::vector<std::string> ids;
    for (auto t = 0ns; t < span; t += gap) {
      ids.push_back(fmt::format("warm{}", warm_++));
      Enqueue("gpu", ids.back());
      now_ += gap;
    }
    for (const auto& id : ids) policy_.Remove(id);
  }
  int warm_ = 0;
};

TEST_F(AdaptivePolicyTest, LearnsTheBatchCostLine) {
  for (const auto& stats : policy_.Stats(now_)) {
    if (stats.settings.name != "gpu") continue;
    EXPECT_NEAR(stats.cost_fixed_us, 2000, 1);
    EXPECT_NEAR(stats.cost_per_item_us, 50, 0.1);
  }
}

TEST_F(AdaptivePolicyTest, IdleWorkerAndATrickleDispatchAtOnce) {
  Arrivals(50, 1s);  // 50 jobs/s
  Enqueue("gpu", "lonely");
  auto decision = Next(kIdle);
  ASSERT_TRUE(decision.batch);
  EXPECT_EQ(decision.batch->reason, CloseReason::kIdleWorker);
  EXPECT_EQ(Ids(*decision.batch), (std::vector<std::string>{"lonely"}));
}

TEST_F(AdaptivePolicyTest, UnderLoadTheBatchGrowsToWhatKeepsUp) {
  Arrivals(10000, 2s);  // 10k/s: 1 worker keeps up only with n >= 0.01*2000/(1-0.5) = 40
  for (int i = 0; i < 10; ++i) Enqueue("gpu", "j" + std::to_string(i));
  auto waiting = Next(kIdle);
  EXPECT_FALSE(waiting.batch);
  ASSERT_TRUE(waiting.wake_at);
  EXPECT_LT(*waiting.wake_at, now_ + 20ms);  // before max_delay: when 40 should be queued
  for (int i = 10; i < 40; ++i) Enqueue("gpu", "j" + std::to_string(i));
  auto decision = Next(kIdle);
  ASSERT_TRUE(decision.batch);
  EXPECT_EQ(decision.batch->reason, CloseReason::kIdleWorker);
  EXPECT_GE(decision.batch->jobs.size(), 38u);
  EXPECT_LE(decision.batch->jobs.size(), 40u);
}

TEST_F(AdaptivePolicyTest, MaxDelayStaysAHardBound) {
  Arrivals(30000, 2s);  // beyond what one worker can ever keep up with
  Enqueue("gpu", "a");
  EXPECT_FALSE(Next(kIdle).batch);
  now_ += 20ms;
  auto decision = Next(kIdle);
  ASSERT_TRUE(decision.batch);
  EXPECT_EQ(decision.batch->reason, CloseReason::kMaxDelay);
}

TEST_F(AdaptivePolicyTest, NoIdleWorkerMeansTheBatchGrowsForFree) {
  Arrivals(50, 1s);
  Enqueue("gpu", "a");
  EXPECT_FALSE(Next(kBusyFree).batch);  // a free credit, but the worker is busy
  EXPECT_TRUE(Next(kIdle).batch);
}

TEST_F(BatchPolicyTest, RetryAfterFollowsTheDrainRate) {
  EXPECT_EQ(policy_.RetryAfter("upper", now_), 5s);  // nothing drained yet
  // Four jobs dispatched every 40 ms: 100 jobs/s.
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 4; ++i) Enqueue("upper", fmt::format("d{}-{}", round, i));
    ASSERT_TRUE(Next().batch);
    now_ += 40ms;
  }
  policy_.Configure(Settings("upper", 1000, 1h));  // let a backlog build without dispatch
  for (int i = 0; i < 500; ++i) Enqueue("upper", fmt::format("q{}", i));
  const auto eta = policy_.RetryAfter("upper", now_);
  EXPECT_GE(eta, 4s);
  EXPECT_LE(eta, 7s);
}

TEST_F(BatchPolicyTest, AdmissionByTimeProjectsTheQueueOverWhatItsWorkersDrain) {
  TypeSettings slow = Settings("slow", 4, 1h, 100'000);
  slow.max_queue_wait = 1s;
  policy_.Configure(slow);
  for (int i = 0; i < 100; ++i) Enqueue("slow", fmt::format("s{}", i));
  // No rate is known yet: never refused by time (the count bound still holds).
  EXPECT_EQ(policy_.ProjectedWait("slow", 2, now_), std::nullopt);
  EXPECT_EQ(policy_.RefuseForQueueWait("slow", 2, now_), std::nullopt);
  // A full batch of 4 takes 100 ms: 40 jobs/s per worker.
  policy_.ObserveBatch("slow", 4, 100ms);
  EXPECT_EQ(policy_.ProjectedWait("slow", 2, now_), 1250ms);  // 100 jobs at 80/s
  EXPECT_EQ(policy_.ProjectedWait("slow", 4, now_), 625ms);
  EXPECT_EQ(policy_.ProjectedWait("slow", 0, now_), std::nullopt) << "no worker: unknown";
  const auto refusal = policy_.RefuseForQueueWait("slow", 2, now_);
  ASSERT_TRUE(refusal.has_value());
  EXPECT_EQ(refusal->error.code, ErrorCode::kQueueWaitExceeded);
  EXPECT_NE(refusal->error.message.find("1000 ms"), std::string::npos) << refusal->error.message;
  EXPECT_EQ(refusal->retry_after, 1s);  // 0.25 s past the bound, rounded up
  EXPECT_EQ(policy_.RefuseForQueueWait("slow", 4, now_), std::nullopt) << "within the bound";
  for (int i = 100; i < 400; ++i) Enqueue("slow", fmt::format("s{}", i));
  EXPECT_EQ(policy_.RefuseForQueueWait("slow", 2, now_)->retry_after, 4s);  // 5 s of work
  // A type without a bound is never refused by time.
  EXPECT_FALSE(policy_.BoundsQueueWait("sleep"));
  EXPECT_TRUE(policy_.BoundsQueueWait("slow"));
  policy_.ObserveBatch("sleep", 3, 10s);
  for (int i = 0; i < 50; ++i) Enqueue("sleep", fmt::format("z{}", i));
  EXPECT_EQ(policy_.RefuseForQueueWait("sleep", 1, now_), std::nullopt);
}

TEST_F(BatchPolicyTest, AdmissionByTimeGoesByTheMeasuredRateWhenItIsFaster) {
  TypeSettings slow = Settings("upper", 4, 0us);
  slow.max_queue_wait = 1s;
  policy_.Configure(slow);
  policy_.ObserveBatch("upper", 4, 1s);  // the model says 4 jobs/s for one worker
  // Yet 4 jobs are dispatched every 40 ms: 100 jobs/s measured.
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 4; ++i) Enqueue("upper", fmt::format("d{}-{}", round, i));
    ASSERT_TRUE(Next().batch);
    now_ += 40ms;
  }
  for (int i = 0; i < 50; ++i) Enqueue("upper", fmt::format("q{}", i));
  const auto wait = policy_.ProjectedWait("upper", 1, now_);
  ASSERT_TRUE(wait.has_value());
  EXPECT_GT(*wait, 400ms);  // 50 jobs at about 100/s, not 12.5 s at 4/s
  EXPECT_LT(*wait, 700ms);
  EXPECT_EQ(policy_.RefuseForQueueWait("upper", 1, now_), std::nullopt);
}

TEST(BatchCostModelTest, FitsFixedAndPerItemCosts) {
  BatchCostModel model;
  EXPECT_FALSE(model.known());
  model.Observe(10, 1500us);
  EXPECT_NEAR(model.fixed_us(), 1500, 1e-6);  // one size seen: all of it counts as fixed
  EXPECT_EQ(model.per_item_us(), 0);
  model.Observe(30, 2500us);
  EXPECT_NEAR(model.per_item_us(), 50, 1e-6);
  EXPECT_NEAR(model.fixed_us(), 1000, 1e-6);
  EXPECT_EQ(model.Predict(20), 2000us);
}

TEST(RateMeterTest, MeasuresASteadyRate) {
  RateMeter meter(500ms);
  MonotonicTime now{};
  for (int i = 0; i < 1000; ++i) {
    meter.Add(now);
    now += 10ms;  // 100 per second
  }
  EXPECT_NEAR(meter.PerSecond(now), 100, 10);
  EXPECT_LT(meter.PerSecond(now + 5s), 1);  // decays once events stop
}

TEST_F(BatchPolicyTest, MaxRunIsTheTypesOwnOrTenTimesTheLearnedCostWithAFloor) {
  EXPECT_EQ(policy_.MaxRun("upper", 4), BatchPolicy::kMaxRunFloor) << "nothing learned yet";
  EXPECT_EQ(policy_.MaxRun("nonesuch", 4), BatchPolicy::kMaxRunFloor);
  policy_.ObserveBatch("upper", 4, std::chrono::seconds(1));
  EXPECT_EQ(policy_.MaxRun("upper", 4), BatchPolicy::kMaxRunFloor) << "10 s is under the floor";
  for (int i = 0; i < 20; ++i) policy_.ObserveBatch("upper", 4, std::chrono::seconds(30));
  EXPECT_GT(policy_.MaxRun("upper", 4), BatchPolicy::kMaxRunFloor);
  EXPECT_LE(policy_.MaxRun("upper", 4), std::chrono::milliseconds(300'000));
  TypeSettings fixed = Settings("render", 4, 5ms);
  fixed.max_run = std::chrono::milliseconds(1500);
  policy_.Configure(fixed);
  EXPECT_EQ(policy_.MaxRun("render", 4), std::chrono::milliseconds(1500));
}

}  // namespace
}  // namespace batchq
