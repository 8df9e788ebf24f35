// Fair share between tenants inside a job type, and the per-tenant queued cap, driven
// with an injected clock: no sleeps. The flood simulation checks the promise of the
// header: a tenant's job waits about one batch behind another tenant's flood, not
// behind the backlog.
#include <map>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "broker/batch_policy.h"
#include "tests/broker/capacities.h"

namespace batchq {
namespace {

using namespace std::chrono_literals;

using test_capacities::kBusyFree;

class FairShareTest : public ::testing::Test {
 protected:
  FairShareTest() : policy_(BatchPolicy::Options{TypeSettings{}, 100ms}) {
    TypeSettings upper;
    upper.name = "upper";
    upper.max_batch_size = 8;
    upper.max_delay = 5ms;
    upper.max_queue = 200'000;
    policy_.Configure(upper);
    TypeSettings other = upper;
    other.name = "other";
    policy_.Configure(other);
  }

  Status Enqueue(const std::string& tenant, const std::string& id, TenantLimits limits = {},
                 std::int32_t priority = 0, const std::string& type = "upper") {
    return policy_.Enqueue(type, QueuedJob{id, tenant, priority, 0, "\"x\"", now_, std::nullopt},
                           limits);
  }
  std::vector<std::string> NextBatchTenants() {
    auto decision = policy_.Next(now_, [](std::string_view) { return kBusyFree; });
    std::vector<std::string> tenants;
    if (decision.batch) {
      for (const auto& job : decision.batch->jobs) tenants.push_back(job.tenant);
    }
    return tenants;
  }

  BatchPolicy policy_;
  MonotonicTime now_{std::chrono::seconds(1000)};
};

TEST_F(FairShareTest, ATenantsOneJobGoesInTheNextBatchAheadOfAnotherTenantsFlood) {
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(Enqueue("flood", fmt::format("f{}", i)));
  ASSERT_TRUE(Enqueue("small", "s0"));
  const auto tenants = NextBatchTenants();
  ASSERT_EQ(tenants.size(), 8u);
  EXPECT_EQ(std::count(tenants.begin(), tenants.end(), "small"), 1);
}

TEST_F(FairShareTest, EqualWeightsAlternateAndWeightsSplitInProportion) {
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(Enqueue("a", fmt::format("a{}", i), TenantLimits{3, 0}));
    ASSERT_TRUE(Enqueue("b", fmt::format("b{}", i), TenantLimits{1, 0}));
  }
  std::map<std::string, int> served;
  for (int batch = 0; batch < 4; ++batch) {
    for (const auto& tenant : NextBatchTenants()) ++served[tenant];
  }
  // 32 jobs served at weights 3:1.
  EXPECT_EQ(served["a"], 24);
  EXPECT_EQ(served["b"], 8);
}

TEST_F(FairShareTest, AnIdleTenantBanksNoTurns) {
  // "a" is served alone for a while; "b" then arrives and gets half, not a catch-up.
  for (int i = 0; i < 64; ++i) ASSERT_TRUE(Enqueue("a", fmt::format("a{}", i)));
  for (int batch = 0; batch < 4; ++batch) ASSERT_EQ(NextBatchTenants().size(), 8u);
  for (int i = 0; i < 64; ++i) ASSERT_TRUE(Enqueue("b", fmt::format("b{}", i)));
  const auto tenants = NextBatchTenants();
  EXPECT_EQ(std::count(tenants.begin(), tenants.end(), "b"), 4);
}

TEST_F(FairShareTest, PrioritiesStillOrderJobsWithinATenant) {
  ASSERT_TRUE(Enqueue("a", "low", {}, -5));
  ASSERT_TRUE(Enqueue("a", "high", {}, 5));
  ASSERT_TRUE(Enqueue("b", "b0"));
  auto decision = policy_.Next(now_ + 10ms, [](std::string_view) { return kBusyFree; });
  ASSERT_TRUE(decision.batch);
  std::vector<std::string> a_order;
  for (const auto& job : decision.batch->jobs) {
    if (job.tenant == "a") a_order.push_back(job.id);
  }
  EXPECT_EQ(a_order, (std::vector<std::string>{"high", "low"}));
}

TEST_F(FairShareTest, TheQueuedCapCountsEveryTypeAndFreesUpOnDispatch) {
  const TenantLimits capped{1, 3};
  ASSERT_TRUE(Enqueue("a", "a0", capped));
  ASSERT_TRUE(Enqueue("a", "a1", capped, 0, "other"));
  ASSERT_TRUE(Enqueue("a", "a2", capped));
  auto refused = Enqueue("a", "a3", capped);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kQuotaExceeded);
  EXPECT_EQ(policy_.TenantDepth("a"), 3u);
  // Another tenant is not held by a's cap.
  EXPECT_TRUE(Enqueue("b", "b0", capped));
  // A cancelled job frees its place; so does a dispatched one.
  EXPECT_TRUE(policy_.Remove("a1"));
  EXPECT_TRUE(Enqueue("a", "a3", capped));
  now_ += 10ms;
  while (!NextBatchTenants().empty()) {
  }
  EXPECT_EQ(policy_.TenantDepth("a"), 0u);
  EXPECT_TRUE(Enqueue("a", "a4", capped));
}

TEST_F(FairShareTest, TheQueuedBytesCapCountsEveryTypeAndFreesUpOnDispatchAndCancel) {
  const TenantLimits capped{1, 0, 250};
  auto enqueue = [&](const std::string& tenant, const std::string& id, const std::string& type) {
    return policy_.Enqueue(
        type, QueuedJob{id, tenant, 0, 0, std::string(100, 'x'), now_, std::nullopt}, capped);
  };
  ASSERT_TRUE(enqueue("a", "a0", "upper"));
  ASSERT_TRUE(enqueue("a", "a1", "other"));
  EXPECT_EQ(policy_.TenantBytes("a"), 200u);
  auto refused = enqueue("a", "a2", "upper");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kQuotaExceeded);
  EXPECT_NE(refused.error().message.find("200 bytes"), std::string::npos)
      << refused.error().message;
  EXPECT_TRUE(enqueue("b", "b0", "upper")) << "another tenant is not held by a's bytes";
  EXPECT_TRUE(policy_.Remove("a1"));
  EXPECT_EQ(policy_.TenantBytes("a"), 100u);
  EXPECT_TRUE(enqueue("a", "a2", "upper"));
  now_ += 10ms;
  while (!NextBatchTenants().empty()) {
  }
  EXPECT_EQ(policy_.TenantBytes("a"), 0u);
  EXPECT_EQ(policy_.TenantBytes("b"), 0u);
  EXPECT_TRUE(enqueue("a", "a3", "upper"));
}

// One worker; each batch takes 20 ms. Tenant "flood" queues 100,000 jobs at once;
// tenant "steady" submits one job every 7 ms. Every steady job is dispatched within
// two batch times of its arrival (it waits for the batch in flight, then goes in the
// next), while the flood keeps the worker full.
TEST_F(FairShareTest, AFloodOfAHundredThousandDelaysAnotherTenantByAboutOneBatch) {
  constexpr auto kBatchTime = 20ms;
  for (int i = 0; i < 100'000; ++i) ASSERT_TRUE(Enqueue("flood", fmt::format("f{}", i)));
  std::map<std::string, MonotonicTime> arrived;
  std::chrono::nanoseconds worst{0};
  MonotonicTime busy_until = now_;
  MonotonicTime next_steady = now_;
  int steady = 0;
  std::size_t flood_served = 0;
  const MonotonicTime end = now_ + 2s;
  while (now_ < end) {
    if (now_ >= next_steady) {
      const std::string id = fmt::format("s{}", steady++);
      ASSERT_TRUE(Enqueue("steady", id));
      arrived[id] = now_;
      next_steady += 7ms;
    }
    if (now_ >= busy_until) {
      auto decision = policy_.Next(now_, [](std::string_view) { return kBusyFree; });
      if (decision.batch) {
        for (const auto& job : decision.batch->jobs) {
          if (job.tenant == "steady") {
            worst = std::max(worst, now_ - arrived.at(job.id));
            arrived.erase(job.id);
          } else {
            ++flood_served;
          }
        }
        busy_until = now_ + kBatchTime;
      }
    }
    now_ += 1ms;
  }
  EXPECT_GT(steady, 200);
  EXPECT_GT(flood_served, 500u);
  EXPECT_LE(arrived.size(), 3u) << "steady jobs left waiting behind the flood";
  EXPECT_LE(worst, 2 * kBatchTime) << "worst wait of a steady job";
  std::cout << fmt::format("steady jobs: {}, worst wait {} ms, flood jobs served {}\n", steady,
                           std::chrono::duration_cast<std::chrono::milliseconds>(worst).count(),
                           flood_served);
}

}  // namespace
}  // namespace batchq
