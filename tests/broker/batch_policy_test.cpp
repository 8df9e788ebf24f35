#include "broker/batch_policy.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace batchq {
namespace {

using namespace std::chrono_literals;

class BatchPolicyTest : public ::testing::Test {
 protected:
  BatchPolicyTest() : policy_(Defaults()) {
    policy_.Configure(Settings("upper", 4, 5ms, 100));
    policy_.Configure(Settings("sleep", 3, 10ms, 100));
  }

  static TypeSettings Defaults() { return Settings("", 8, 2ms, 50); }
  static TypeSettings Settings(std::string name, std::uint32_t max_batch,
                               std::chrono::microseconds delay, std::uint32_t max_queue) {
    TypeSettings s;
    s.name = std::move(name);
    s.max_batch_size = max_batch;
    s.max_delay = delay;
    s.max_queue = max_queue;
    return s;
  }

  void Enqueue(const std::string& type, const std::string& id, std::int32_t priority = 0) {
    ASSERT_TRUE(policy_.Enqueue(type, QueuedJob{id, priority, 0, "\"x\"", now_}));
  }

  BatchPolicy::Decision Next(bool workers_free = true) {
    return policy_.Next(now_, [&](std::string_view) { return workers_free; });
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
  EXPECT_EQ(decision.batch->type, "upper");
  EXPECT_EQ(decision.batch->reason, CloseReason::kFull);
  EXPECT_EQ(Ids(*decision.batch), (std::vector<std::string>{"j0", "j1", "j2", "j3"}));
  EXPECT_EQ(policy_.Depth("upper"), 0u);
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
  EXPECT_EQ(*early.wake_at, now_ - 2ms + 5ms);  // the oldest job's deadline

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
  Enqueue("sleep", "s3");  // sleep is full at 3
  auto decision = Next();
  ASSERT_TRUE(decision.batch);
  EXPECT_EQ(decision.batch->type, "sleep");
  EXPECT_EQ(Ids(*decision.batch), (std::vector<std::string>{"s1", "s2", "s3"}));
  EXPECT_FALSE(Next().batch);  // upper is not due yet
  EXPECT_EQ(policy_.Depth("upper"), 1u);
}

TEST_F(BatchPolicyTest, DispatchesNothingWithoutAFreeWorker) {
  for (int i = 0; i < 4; ++i) Enqueue("upper", "j" + std::to_string(i));
  now_ += 1h;
  auto decision = Next(/*workers_free=*/false);
  EXPECT_FALSE(decision.batch);
  EXPECT_FALSE(decision.wake_at);  // nothing to wake for until a worker frees up
  EXPECT_EQ(policy_.Depth("upper"), 4u);
}

TEST_F(BatchPolicyTest, BatchGrowsWhileWorkersAreBusy) {
  Enqueue("upper", "a");
  now_ += 50ms;  // long past max_delay, but no worker
  EXPECT_FALSE(Next(false).batch);
  Enqueue("upper", "b");
  Enqueue("upper", "c");
  auto decision = Next(true);
  ASSERT_TRUE(decision.batch);
  EXPECT_EQ(decision.batch->jobs.size(), 3u);
}

TEST_F(BatchPolicyTest, OnlyDispatchesTypesWithAFreeWorker) {
  for (int i = 0; i < 4; ++i) Enqueue("upper", "u" + std::to_string(i));
  for (int i = 0; i < 3; ++i) Enqueue("sleep", "s" + std::to_string(i));
  auto decision = policy_.Next(now_, [](std::string_view type) { return type == "sleep"; });
  ASSERT_TRUE(decision.batch);
  EXPECT_EQ(decision.batch->type, "sleep");
  EXPECT_FALSE(policy_.Next(now_, [](std::string_view type) { return type == "sleep"; }).batch);
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

TEST_F(BatchPolicyTest, RefusesPastQueueLimit) {
  policy_.Configure(Settings("tiny", 4, 5ms, 2));
  Enqueue("tiny", "a");
  Enqueue("tiny", "b");
  auto refused = policy_.Enqueue("tiny", QueuedJob{"c", 0, 0, "1", now_});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "queue_full");
  EXPECT_EQ(policy_.Depth("tiny"), 2u);
}

TEST_F(BatchPolicyTest, RefusesUnknownType) {
  auto refused = policy_.Enqueue("nope", QueuedJob{"a", 0, 0, "1", now_});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "unknown_type");
}

TEST_F(BatchPolicyTest, RequeuedJobsGoFirstInTheirOrderAndIgnoreTheLimit) {
  policy_.Configure(Settings("tiny", 4, 5ms, 1));
  Enqueue("tiny", "new");
  policy_.Requeue("tiny", {QueuedJob{"old1", 0, 1, "1", now_}, QueuedJob{"old2", 0, 1, "1", now_}});
  EXPECT_EQ(policy_.Depth("tiny"), 3u);
  now_ += 5ms;
  auto decision = Next();
  ASSERT_TRUE(decision.batch);
  EXPECT_EQ(Ids(*decision.batch), (std::vector<std::string>{"old1", "old2", "new"}));
}

TEST_F(BatchPolicyTest, RequeueOfAnUnseenTypeUsesDefaults) {
  policy_.Requeue("plugin", {QueuedJob{"p", 0, 0, "1", now_}});
  EXPECT_TRUE(policy_.Knows("plugin"));
  now_ += 2ms;  // the defaults' max_delay
  auto decision = Next();
  ASSERT_TRUE(decision.batch);
  EXPECT_EQ(decision.batch->type, "plugin");
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

}  // namespace
}  // namespace batchq
