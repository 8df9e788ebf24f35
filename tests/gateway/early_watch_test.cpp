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
    early.OnEnd([&ended] { ++ended; });
    EXPECT_EQ(ended, 1) << "called at once: the notice came first";
  }
  {
    EarlyWatch late(waiters, "b");
    late.OnEnd([&ended] { ++ended; });
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

}  // namespace
}  // namespace batchq
