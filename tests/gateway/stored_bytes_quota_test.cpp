// StoredBytesQuota with an injected clock and a counted reader: when Redis is read,
// what is counted between reads, whose cap applies, and what a refusal says.
#include "gateway/stored_bytes_quota.h"

#include <gtest/gtest.h>

namespace batchq {
namespace {

using namespace std::chrono_literals;
using Clock = StoredBytesQuota::Clock;

constexpr WallMicros kWallNow = std::chrono::hours(24 * 20000);  // some day in 2024

std::chrono::seconds WallSeconds(WallMicros at) {
  return std::chrono::duration_cast<std::chrono::seconds>(at);
}

class CountedReader {
 public:
  StoredBytesQuota::Read Read() {
    return [this](std::string_view tenant) -> Result<StoredBytes> {
      ++reads;
      last_tenant = std::string(tenant);
      if (down) return Fail(ErrorCode::kRedisUnavailable);
      return held;
    };
  }
  StoredBytes held;
  bool down = false;
  int reads = 0;
  std::string last_tenant;
};

TEST(RefuseStoredBytesTest, AdmitsUpToTheCapAndNoFurther) {
  const StoredBytes held{900, WallSeconds(kWallNow + 90s)};
  EXPECT_FALSE(RefuseStoredBytes("acme", held, 100, 1000, kWallNow));
  const auto refusal = RefuseStoredBytes("acme", held, 101, 1000, kWallNow);
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->error.code, ErrorCode::kQuotaExceeded);
  EXPECT_EQ(refusal->retry_after, 90s) << "until the soonest bytes are released";
  for (const char* part : {"acme", "900", "101", "1000"}) {
    EXPECT_NE(refusal->error.message.find(part), std::string::npos) << refusal->error.message;
  }
}

TEST(RefuseStoredBytesTest, ASubmitLargerThanTheCapIsToldWaitingWillNotHelp) {
  const auto refusal = RefuseStoredBytes("acme", StoredBytes{}, 2000, 1000, kWallNow);
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->retry_after, 0s);
  EXPECT_NE(refusal->error.message.find("more than"), std::string::npos) << refusal->error.message;
}

TEST(RefuseStoredBytesTest, AReleaseDueAlreadyStillGivesAPositiveRetryAfter) {
  const auto refusal =
      RefuseStoredBytes("acme", StoredBytes{1000, WallSeconds(kWallNow - 5s)}, 1, 1000, kWallNow);
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->retry_after, 1s);
}

TEST(StoredBytesQuotaTest, ReadsOncePerRefreshAndCountsWhatItAdmitsBetweenReads) {
  StoredBytesQuota quota({.default_cap = 1000, .refresh = 100ms});
  CountedReader redis;
  redis.held = StoredBytes{500, WallSeconds(kWallNow + 60s)};
  const Clock::time_point t0{};
  // NeedsRead says beforehand what Admit will do (the gateway admits off its I/O threads
  // when it reads).
  EXPECT_TRUE(quota.NeedsRead("acme", 0, t0));
  EXPECT_FALSE(quota.Admit("acme", 0, 200, t0, kWallNow, redis.Read()));
  EXPECT_EQ(redis.reads, 1);
  EXPECT_EQ(redis.last_tenant, "acme");
  EXPECT_FALSE(quota.NeedsRead("acme", 0, t0 + 50ms));
  EXPECT_TRUE(quota.NeedsRead("other", 0, t0 + 50ms));
  EXPECT_FALSE(quota.Admit("acme", 0, 200, t0 + 50ms, kWallNow, redis.Read()));
  EXPECT_EQ(redis.reads, 1) << "within the refresh the last figure is used";
  // 500 read + 400 admitted here: 200 more would pass 1000 although Redis still says 500.
  EXPECT_TRUE(quota.Admit("acme", 0, 200, t0 + 99ms, kWallNow, redis.Read()));
  EXPECT_EQ(redis.reads, 1);
  redis.held.bytes = 700;  // the first two were written, and one finished job expired
  EXPECT_TRUE(quota.NeedsRead("acme", 0, t0 + 100ms));
  EXPECT_FALSE(quota.Admit("acme", 0, 200, t0 + 100ms, kWallNow, redis.Read()));
  EXPECT_EQ(redis.reads, 2) << "a figure older than the refresh is read again";
}

TEST(StoredBytesQuotaTest, TenantsAreCountedApart) {
  StoredBytesQuota quota({.default_cap = 1000, .refresh = 1h});
  CountedReader redis;
  redis.held = StoredBytes{0, 0s};
  const Clock::time_point t0{};
  EXPECT_FALSE(quota.Admit("heavy", 0, 1000, t0, kWallNow, redis.Read()));
  EXPECT_TRUE(quota.Admit("heavy", 0, 1, t0, kWallNow, redis.Read()));
  EXPECT_FALSE(quota.Admit("light", 0, 1000, t0, kWallNow, redis.Read()));
  EXPECT_EQ(redis.reads, 2);
}

TEST(StoredBytesQuotaTest, AKeysOwnCapReplacesTheDefaultAndNoCapReadsNothing) {
  CountedReader redis;
  redis.held = StoredBytes{5000, WallSeconds(kWallNow + 60s)};
  const Clock::time_point t0{};
  StoredBytesQuota capped({.default_cap = 1000, .refresh = 0ms});
  EXPECT_TRUE(capped.Admit("acme", 0, 1, t0, kWallNow, redis.Read()));
  EXPECT_FALSE(capped.Admit("acme", 10000, 1, t0, kWallNow, redis.Read()));
  EXPECT_EQ(redis.reads, 2);
  StoredBytesQuota open({.default_cap = 0, .refresh = 0ms});
  EXPECT_FALSE(open.NeedsRead("acme", 0, t0));
  EXPECT_TRUE(open.NeedsRead("acme", 10000, t0));
  EXPECT_FALSE(open.Admit("acme", 0, 1u << 30, t0, kWallNow, redis.Read()));
  EXPECT_EQ(redis.reads, 2) << "without a cap Redis is not asked";
}

TEST(StoredBytesQuotaTest, AFailedReadAdmitsAndIsTriedAgainNextTime) {
  StoredBytesQuota quota({.default_cap = 1000, .refresh = 1h});
  CountedReader redis;
  redis.down = true;
  const Clock::time_point t0{};
  EXPECT_FALSE(quota.Admit("acme", 0, 10, t0, kWallNow, redis.Read()));
  redis.down = false;
  redis.held = StoredBytes{1000, WallSeconds(kWallNow + 60s)};
  EXPECT_TRUE(quota.Admit("acme", 0, 10, t0, kWallNow, redis.Read()));
  EXPECT_EQ(redis.reads, 2);
}

}  // namespace
}  // namespace batchq
