// SubmitWait: ?wait_ms and RFC 7240's Prefer: wait, read without a request.
#include "gateway/submit_wait.h"

#include <gtest/gtest.h>

namespace batchq {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kMax{60000};

milliseconds Wait(std::string_view query, std::string_view prefer) {
  auto wait = SubmitWait(query, prefer, kMax);
  EXPECT_TRUE(wait) << query << " / " << prefer;
  return wait.value_or(milliseconds(-1));
}

TEST(SubmitWaitTest, WaitMsIsMillisecondsAndPreferWaitIsSeconds) {
  EXPECT_EQ(Wait("", ""), milliseconds(0));
  EXPECT_EQ(Wait("wait_ms=250", ""), milliseconds(250));
  EXPECT_EQ(Wait("", "wait=5"), milliseconds(5000));
  EXPECT_EQ(Wait("", "respond-async, wait=10"), milliseconds(10000));
  EXPECT_EQ(Wait("", R"(WAIT="3"; foo=bar)"), milliseconds(3000));
  EXPECT_EQ(Wait("wait_ms=100", "wait=5"), milliseconds(100)) << "wait_ms wins";
}

TEST(SubmitWaitTest, BothAreCappedAndAnUnusablePreferenceIsIgnored) {
  EXPECT_EQ(Wait("wait_ms=999999", ""), kMax);
  EXPECT_EQ(Wait("", "wait=99999999999999"), kMax);
  EXPECT_EQ(Wait("", "wait=soon"), milliseconds(0));
  EXPECT_EQ(Wait("", "wait"), milliseconds(0));
  EXPECT_EQ(Wait("", "handling=strict, waiter=4"), milliseconds(0));
  auto malformed = SubmitWait("wait_ms=-1", "", kMax);
  ASSERT_FALSE(malformed);
  EXPECT_EQ(malformed.error().code, ErrorCode::kInvalidRequest);
}

}  // namespace
}  // namespace batchq
