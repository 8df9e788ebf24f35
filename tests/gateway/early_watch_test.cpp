#include "gateway/early_watch.h"

#include <gtest/gtest.h>

namespace batchq {
namespace {

TEST(EarlyWatchTest, KeepsANoticeThatCameFirstAndLetsGoOfItsWaiter) {
  CompletionWaiters waiters;
  int ended = 0;
  {
    EarlyWatch early(waiters, "a");
    waiters.Notify("a");  // before anyone asked
    early.OnEnd([&ended](auto) { ++ended; });
    EXPECT_EQ(ended, 1) << "called at once: the notice came first";
  }
  {
    EarlyWatch late(waiters, "b");
    late.OnEnd([&ended](auto) { ++ended; });
    EXPECT_EQ(ended, 1);
    waiters.Notify("b");
    EXPECT_EQ(ended, 2) << "called at the notice";
  }
  {
    EarlyWatch dropped(waiters, "c");
    EXPECT_EQ(waiters.size(), 1u);
  }
  EXPECT_EQ(waiters.size(), 0u) << "a watch that goes takes its waiter with it";
  waiters.Notify("c");
  EXPECT_EQ(ended, 2);
}

TEST(EarlyWatchTest, KeepsTheCarriedRecordForALateOnEnd) {
  CompletionWaiters waiters;
  JobRecord ended;
  ended.id = "a";
  const auto record = std::make_shared<const JobRecord>(ended);
  EarlyWatch early(waiters, "a");
  waiters.Notify("a", [record] { return record; });
  std::shared_ptr<const JobRecord> got;
  early.OnEnd([&got](std::shared_ptr<const JobRecord> r) { got = std::move(r); });
  EXPECT_EQ(got, record);
  EarlyWatch waiting(waiters, "b");
  std::shared_ptr<const JobRecord> later = record;
  waiting.OnEnd([&later](std::shared_ptr<const JobRecord> r) { later = std::move(r); });
  waiters.Notify("b");
  EXPECT_EQ(later, nullptr) << "a plain notice carries nothing";
}

}  // namespace
}  // namespace batchq
