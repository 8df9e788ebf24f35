#include "broker/worker_registry.h"

#include <gtest/gtest.h>

namespace batchq {
namespace {

using namespace std::chrono_literals;

wire::Ready ReadyFor(std::string name, std::vector<std::string> types, std::uint32_t credits) {
  return wire::Ready{std::move(name), std::move(types), credits, "cpu", "cpu"};
}

TEST(WorkerRegistryTest, AssignsAWorkerServingTheTypeWithTheMostFreeCredits) {
  WorkerRegistry registry;
  const MonotonicTime now{};
  registry.Register("a", ReadyFor("a", {"upper"}, 2), now);
  registry.Register("b", ReadyFor("b", {"sleep"}, 4), now);
  registry.Register("c", ReadyFor("c", {"upper", "sleep"}, 3), now);
  const WorkerInfo* picked = registry.Assign("upper", false);
  ASSERT_NE(picked, nullptr);
  EXPECT_EQ(picked->routing, "c");
  EXPECT_EQ(picked->free_credits(), 2u);
  registry.Assign("upper", false);  // c again? a has 2, c has 2: the least recently picked, a
  EXPECT_EQ(registry.Find("a")->free_credits(), 1u);
  picked = registry.Assign("upper", false);  // c has 2 free, a 1
  ASSERT_NE(picked, nullptr);
  EXPECT_EQ(picked->routing, "c");
  EXPECT_EQ(registry.Assign("render", false), nullptr);
}

TEST(WorkerRegistryTest, NoWorkerWhenAllCreditsAreUsedUntilOneIsReleased) {
  WorkerRegistry registry;
  registry.Register("a", ReadyFor("a", {"upper"}, 1), MonotonicTime{});
  EXPECT_TRUE(registry.CapacityFor("upper").free_credit);
  ASSERT_NE(registry.Assign("upper", false), nullptr);
  EXPECT_FALSE(registry.CapacityFor("upper").free_credit);
  EXPECT_EQ(registry.Assign("upper", false), nullptr);
  EXPECT_EQ(registry.CountServing("upper"), 1u);
  registry.Release("a", /*finished=*/true);
  EXPECT_TRUE(registry.CapacityFor("upper").idle_worker);
  EXPECT_EQ(registry.Find("a")->batches_done, 1u);
  registry.Assign("upper", false);
  registry.Release("a", /*finished=*/false);  // never delivered: not counted as done
  EXPECT_EQ(registry.Find("a")->batches_done, 1u);
}

TEST(WorkerRegistryTest, RemovesWorkersSilentPastTheLimit) {
  WorkerRegistry registry;
  MonotonicTime start{std::chrono::seconds(10)};
  registry.Register("old", ReadyFor("old", {"upper"}, 2), start);
  registry.Register("fresh", ReadyFor("fresh", {"upper"}, 2), start);
  for (int tick = 0; tick < 3; ++tick) registry.OnTick();  // at 1, 2 and 3 s
  registry.Touch("fresh", start + 2s);
  auto removed = registry.RemoveSilent(start + 3001ms, 3000ms, 3);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].routing, "old");
  EXPECT_NE(registry.Find("fresh"), nullptr);
  EXPECT_EQ(registry.Find("old"), nullptr);
}

TEST(WorkerRegistryTest, APauseOfTheBrokersOwnIsNotAWorkersSilence) {
  WorkerRegistry registry;
  MonotonicTime start{std::chrono::seconds(10)};
  registry.Register("w", ReadyFor("w", {"upper"}, 2), start);
  registry.OnTick();
  // The broker stood still for 10 s: one tick, not three, went by without the worker.
  EXPECT_TRUE(registry.RemoveSilent(start + 10s, 3000ms, 3).empty());
  registry.OnTick();
  EXPECT_TRUE(registry.RemoveSilent(start + 11s, 3000ms, 3).empty());
  registry.OnTick();
  // Three ticks and more than the window: now it is silent.
  EXPECT_EQ(registry.RemoveSilent(start + 12s, 3000ms, 3).size(), 1u);
}

TEST(WorkerRegistryTest, TicksAloneAreNotAWindowOfSilence) {
  WorkerRegistry registry;
  MonotonicTime start{std::chrono::seconds(10)};
  registry.Register("w", ReadyFor("w", {"upper"}, 2), start);
  for (int tick = 0; tick < 5; ++tick) registry.OnTick();
  EXPECT_TRUE(registry.RemoveSilent(start + 2s, 3000ms, 3).empty());
  registry.Touch("w", start + 2500ms);  // heard from: its count starts over
  EXPECT_TRUE(registry.RemoveSilent(start + 6s, 3000ms, 3).empty());
}

TEST(WorkerRegistryTest, ReRegisteringResetsCreditsAndInFlight) {
  WorkerRegistry registry;
  registry.Register("a", ReadyFor("a", {"upper"}, 2), MonotonicTime{});
  registry.Assign("upper", true);
  registry.Assign("upper", false);
  EXPECT_EQ(registry.Find("a")->free_credits(), 1u);
  const auto& again = registry.Register("a", ReadyFor("a", {"upper"}, 3), MonotonicTime{});
  EXPECT_EQ(again.free_credits(), 3u);
  EXPECT_EQ(again.in_flight, 0u);
  EXPECT_FALSE(again.exclusive);
}

TEST(WorkerRegistryTest, AnExclusiveWorkerTakesNothingElseUntilItsBatchIsDone) {
  WorkerRegistry registry;
  registry.Register("a", ReadyFor("a", {"upper"}, 2), MonotonicTime{});
  registry.Register("b", ReadyFor("b", {"upper"}, 2), MonotonicTime{});
  const WorkerInfo* idle = registry.Assign("upper", /*exclusive=*/true);
  ASSERT_NE(idle, nullptr);
  const std::string exclusive = idle->routing;
  for (int i = 0; i < 2; ++i) {
    const WorkerInfo* picked = registry.Assign("upper", false);
    ASSERT_NE(picked, nullptr);
    EXPECT_NE(picked->routing, exclusive);
  }
  const Capacity capacity = registry.CapacityFor("upper");
  EXPECT_EQ(capacity.workers, 2u);
  EXPECT_FALSE(capacity.free_credit);  // the other worker is full, this one exclusive
  EXPECT_EQ(registry.Assign("upper", true), nullptr);
  registry.Release(exclusive, /*finished=*/true);
  EXPECT_FALSE(registry.Find(exclusive)->exclusive);
  EXPECT_EQ(registry.Assign("upper", true)->routing, exclusive);
}

}  // namespace
}  // namespace batchq
