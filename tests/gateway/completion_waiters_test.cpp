#include "gateway/completion_waiters.h"

#include <gtest/gtest.h>

namespace batchq {
namespace {

TEST(CompletionWaitersTest, NotifyWakesOnlyThatJobsWaitersOnce) {
  CompletionWaiters waiters;
  int a = 0, b = 0;
  waiters.Add("a", [&] { ++a; });
  waiters.Add("a", [&] { ++a; });
  waiters.Add("b", [&] { ++b; });
  waiters.Notify("a");
  waiters.Notify("a");
  EXPECT_EQ(a, 2);
  EXPECT_EQ(b, 0);
  EXPECT_EQ(waiters.size(), 1u);
}

TEST(CompletionWaitersTest, RemovedWaiterIsNotCalled) {
  CompletionWaiters waiters;
  int calls = 0;
  const auto token = waiters.Add("a", [&] { ++calls; });
  waiters.Remove(token);
  waiters.Remove(token);  // harmless twice
  waiters.Notify("a");
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(waiters.size(), 0u);
}

TEST(CompletionWaitersTest, NotifyAllWakesEveryone) {
  CompletionWaiters waiters;
  int calls = 0;
  waiters.Add("a", [&] { ++calls; });
  waiters.Add("b", [&] { ++calls; });
  waiters.NotifyAll();
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(waiters.size(), 0u);
}

}  // namespace
}  // namespace batchq
