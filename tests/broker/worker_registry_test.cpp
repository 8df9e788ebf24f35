#include "broker/worker_registry.h"

#include <gtest/gtest.h>

namespace batchq {
namespace {

using namespace std::chrono_literals;

wire::Ready ReadyFor(std::string name, std::vector<std::string> types, std::uint32_t credits) {
  return wire::Ready{std::move(name), std::move(types), credits, "cpu", "cpu"};
}

TEST(WorkerRegistryTest, PicksAWorkerServingTheTypeWithTheMostFreeCredits) {
  WorkerRegistry registry;
  const MonotonicTime now{};
  registry.Register("a", ReadyFor("a", {"upper"}, 2), now);
  registry.Register("b", ReadyFor("b", {"sleep"}, 4), now);
  registry.Register("c", ReadyFor("c", {"upper", "sleep"}, 3), now);
  WorkerInfo* picked = registry.PickFor("upper");
  ASSERT_NE(picked, nullptr);
  EXPECT_EQ(picked->routing, "c");
  picked->free_credits = 1;
  picked = registry.PickFor("upper");
  ASSERT_NE(picked, nullptr);
  EXPECT_EQ(picked->routing, "a");
  EXPECT_EQ(registry.PickFor("render"), nullptr);
}

TEST(WorkerRegistryTest, NoFreeWorkerWhenAllCreditsAreUsed) {
  WorkerRegistry registry;
  registry.Register("a", ReadyFor("a", {"upper"}, 1), MonotonicTime{});
  EXPECT_TRUE(registry.CapacityFor("upper").free_credit);
  registry.Find("a")->free_credits = 0;
  EXPECT_FALSE(registry.CapacityFor("upper").free_credit);
  EXPECT_EQ(registry.PickFor("upper"), nullptr);
  EXPECT_EQ(registry.CountServing("upper"), 1u);
}

TEST(WorkerRegistryTest, RemovesWorkersSilentPastTheLimit) {
  WorkerRegistry registry;
  MonotonicTime start{std::chrono::seconds(10)};
  registry.Register("old", ReadyFor("old", {"upper"}, 2), start);
  registry.Register("fresh", ReadyFor("fresh", {"upper"}, 2), start);
  registry.Touch("fresh", start + 2s);
  auto removed = registry.RemoveSilent(start + 3001ms, 3000ms);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].routing, "old");
  EXPECT_NE(registry.Find("fresh"), nullptr);
  EXPECT_EQ(registry.Find("old"), nullptr);
}

TEST(WorkerRegistryTest, ReRegisteringResetsCreditsAndInFlight) {
  WorkerRegistry registry;
  auto& info = registry.Register("a", ReadyFor("a", {"upper"}, 2), MonotonicTime{});
  info.free_credits = 0;
  info.in_flight.insert("b1");
  auto& again = registry.Register("a", ReadyFor("a", {"upper"}, 3), MonotonicTime{});
  EXPECT_EQ(again.free_credits, 3u);
  EXPECT_TRUE(again.in_flight.empty());
}

TEST(WorkerRegistryTest, AnExclusiveWorkerTakesNothingElse) {
  WorkerRegistry registry;
  registry.Register("a", ReadyFor("a", {"upper"}, 2), MonotonicTime{});
  registry.Register("b", ReadyFor("b", {"upper"}, 2), MonotonicTime{});
  WorkerInfo* idle = registry.PickIdleFor("upper");
  ASSERT_NE(idle, nullptr);
  idle->exclusive = true;
  idle->in_flight.insert("suspect-batch");
  --idle->free_credits;
  const std::string exclusive = idle->routing;
  for (int i = 0; i < 3; ++i) {
    WorkerInfo* picked = registry.PickFor("upper");
    ASSERT_NE(picked, nullptr);
    EXPECT_NE(picked->routing, exclusive);
  }
  const Capacity capacity = registry.CapacityFor("upper");
  EXPECT_EQ(capacity.workers, 2u);
  EXPECT_TRUE(capacity.free_credit);  // the other worker
  registry.Find(exclusive == "a" ? "b" : "a")->in_flight.insert("x");
  EXPECT_EQ(registry.PickIdleFor("upper"), nullptr);
}

}  // namespace
}  // namespace batchq
