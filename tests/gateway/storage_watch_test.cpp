#include "gateway/storage_watch.h"

#include <gtest/gtest.h>

namespace batchq {
namespace {

TEST(StorageWatchTest, ReadsUsedMemoryAndMaxmemoryFromInfo) {
  const std::string info =
      "# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\n"
      "used_memory_rss:9000000\r\nmaxmemory:2097152\r\nmaxmemory_human:2.00M\r\n";
  auto memory = ParseRedisMemory(info);
  ASSERT_TRUE(memory) << memory.error().message;
  EXPECT_EQ(memory->used, 1048576u) << "not used_memory_human or used_memory_rss";
  EXPECT_EQ(memory->maxmemory, 2097152u) << "not maxmemory_human";
}

TEST(StorageWatchTest, AnInfoWithoutTheFieldsIsAnError) {
  for (const std::string info :
       {"", "used_memory:12\r\n", "maxmemory:5\r\n", "used_memory:x\r\nmaxmemory:5\r\n",
        "used_memory:-3\r\nmaxmemory:5\r\n"}) {
    EXPECT_FALSE(ParseRedisMemory(info)) << info;
  }
}

TEST(StorageWatchTest, FullFromTheRatioOnAndNeverWithoutMaxmemory) {
  EXPECT_FALSE(StorageFullReason({899, 1000}, 0.9));
  auto full = StorageFullReason({900, 1000}, 0.9);
  ASSERT_TRUE(full);
  EXPECT_NE(full->find("90%"), std::string::npos) << *full;
  EXPECT_TRUE(StorageFullReason({2000, 1000}, 0.9));
  EXPECT_FALSE(StorageFullReason({1u << 30, 0}, 0.9)) << "no maxmemory: no limit to judge by";
}

TEST(StorageWatchTest, OnceFullItStaysFullUntilUseFallsAMarginBelow) {
  EXPECT_TRUE(StorageFullReason({899, 1000}, 0.9, /*was_full=*/true));
  EXPECT_TRUE(StorageFullReason({850, 1000}, 0.9, true));
  EXPECT_FALSE(StorageFullReason({849, 1000}, 0.9, true));
  EXPECT_FALSE(StorageFullReason({899, 1000}, 0.9, false));
}

TEST(StorageWatchTest, LooksOftenFromHalfTheMarkOnAndWhileUnreadElseSeldom) {
  using std::chrono::milliseconds;
  const milliseconds fast(100), slow(1000);
  // The mark is 90% of 1000 bytes; half of it, 450.
  EXPECT_EQ(StorageWatchInterval(RedisMemory{449, 1000}, 0.9, fast, slow), slow);
  EXPECT_EQ(StorageWatchInterval(RedisMemory{450, 1000}, 0.9, fast, slow), fast);
  EXPECT_EQ(StorageWatchInterval(RedisMemory{2000, 1000}, 0.9, fast, slow), fast);
  EXPECT_EQ(StorageWatchInterval(RedisMemory{1u << 30, 0}, 0.9, fast, slow), slow)
      << "no maxmemory: nothing to be near";
  EXPECT_EQ(StorageWatchInterval(std::nullopt, 0.9, fast, slow), fast)
      << "unread: Redis may come back full";
}

}  // namespace
}  // namespace batchq
