#include "gateway/completion_waiters.h"

#include <memory>
#include <vector>

#include <gtest/gtest.h>

namespace batchq {
namespace {

TEST(CompletionWaitersTest, NotifyWakesOnlyThatJobsWaitersOnce) {
  CompletionWaiters waiters;
  int a = 0, b = 0;
  waiters.Add("a", [&](auto) { ++a; });
  waiters.Add("a", [&](auto) { ++a; });
  waiters.Add("b", [&](auto) { ++b; });
  waiters.Notify("a");
  waiters.Notify("a");
  EXPECT_EQ(a, 2);
  EXPECT_EQ(b, 0);
  EXPECT_EQ(waiters.size(), 1u);
}

TEST(CompletionWaitersTest, RemovedWaiterIsNotCalled) {
  CompletionWaiters waiters;
  int calls = 0;
  const auto token = waiters.Add("a", [&](auto) { ++calls; });
  waiters.Remove(token);
  waiters.Remove(token);  // harmless twice
  waiters.Notify("a");
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(waiters.size(), 0u);
}

TEST(CompletionWaitersTest, NotifyAllWakesEveryoneWithoutARecord) {
  CompletionWaiters waiters;
  int calls = 0;
  const auto count = [&](std::shared_ptr<const JobRecord> record) {
    EXPECT_EQ(record, nullptr);
    ++calls;
  };
  waiters.Add("a", count);
  waiters.Add("b", count);
  waiters.NotifyAll();
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(waiters.size(), 0u);
}

TEST(CompletionWaitersTest, TheCarriedRecordIsMadeOnceForTheJobsWaitersAndOnlyIfItHasAny) {
  CompletionWaiters waiters;
  std::vector<std::shared_ptr<const JobRecord>> got;
  const auto keep = [&](std::shared_ptr<const JobRecord> record) { got.push_back(record); };
  waiters.Add("a", keep);
  waiters.Add("a", keep);
  waiters.Add("b", keep);
  int made = 0;
  const auto source = [&made] {
    ++made;
    return std::make_shared<const JobRecord>();
  };
  waiters.Notify("nobody-waits", source);
  EXPECT_EQ(made, 0) << "made for a job without waiters";
  waiters.Notify("a", source);
  EXPECT_EQ(made, 1);
  waiters.Notify("b");
  ASSERT_EQ(got.size(), 3u);
  EXPECT_NE(got[0], nullptr);
  EXPECT_EQ(got[0], got[1]) << "both waiters of the job get the one record";
  EXPECT_EQ(got[2], nullptr) << "a notice without a record wakes with none";
}

TEST(CompletionWaitersTest, HoldsACreatedJobAsUnfinishedUntilItsEndAndOnlyWhileNoticesFlow) {
  CompletionWaiters waiters;
  EXPECT_FALSE(waiters.Expect("early", "t")) << "held before any subscription";
  EXPECT_FALSE(waiters.ExpectedTenant("early"));

  waiters.Listening(true);
  ASSERT_TRUE(waiters.Expect("a", "t1"));
  ASSERT_TRUE(waiters.Expect("b", "t2"));
  EXPECT_EQ(waiters.ExpectedTenant("a"), "t1");
  EXPECT_EQ(waiters.ExpectedTenant("b"), "t2");
  EXPECT_FALSE(waiters.ExpectedTenant("c"));

  EXPECT_TRUE(waiters.Notify("a")) << "the end of a job held, news to its client";
  EXPECT_FALSE(waiters.ExpectedTenant("a")) << "still held after its end";
  EXPECT_FALSE(waiters.Notify("a")) << "a second notice of the same end";
  EXPECT_FALSE(waiters.Notify("c")) << "a job created elsewhere";
  ASSERT_TRUE(waiters.Expect("waited", "t1"));
  bool woken = false;
  waiters.Add("waited", [&woken](auto) { woken = true; });
  EXPECT_FALSE(waiters.Notify("waited")) << "its client was told by its waiter";
  EXPECT_TRUE(woken);
  EXPECT_FALSE(waiters.ExpectedTenant("waited"));
  EXPECT_EQ(waiters.ExpectedTenant("b"), "t2") << "another job's end let it go";

  waiters.Listening(false);
  EXPECT_FALSE(waiters.ExpectedTenant("b")) << "held across a break in the notices";
  EXPECT_FALSE(waiters.Expect("d", "t")) << "held while the notices do not flow";
  waiters.Listening(true);
  EXPECT_FALSE(waiters.ExpectedTenant("d"));
  EXPECT_TRUE(waiters.Expect("d", "t"));
}

TEST(CompletionWaitersTest, PastItsCapacityTheOldestUnfinishedJobIsForgotten) {
  CompletionWaiters waiters(2);
  waiters.Listening(true);
  for (const char* id : {"a", "b", "c"}) ASSERT_TRUE(waiters.Expect(id, "t"));
  EXPECT_FALSE(waiters.ExpectedTenant("a"));
  EXPECT_TRUE(waiters.ExpectedTenant("b"));
  EXPECT_TRUE(waiters.ExpectedTenant("c"));
}

}  // namespace
}  // namespace batchq
