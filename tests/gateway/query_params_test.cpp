// The query string's parameters, read as the routes read them.
#include "gateway/query_params.h"

#include <gtest/gtest.h>

namespace batchq {
namespace {

TEST(QueryParamsTest, FindsANamedParameterAmongOthersAndReadsItsInteger) {
  EXPECT_EQ(QueryText("a=1&status=failed&b", "status"), "failed");
  EXPECT_EQ(QueryText("a=1&flag&b=2", "flag"), "") << "present without a value";
  EXPECT_FALSE(QueryText("statuses=x&xstatus=y", "status")) << "whole names only";
  EXPECT_FALSE(QueryText("", "status"));
  EXPECT_EQ(QueryInt("limit=25&x=1", "limit").value(), 25);
  EXPECT_FALSE(QueryInt("x=1", "limit").value());
  for (const char* bad : {"limit=-1", "limit=2x", "limit=", "limit=99999999999999999999"}) {
    const auto read = QueryInt(bad, "limit");
    ASSERT_FALSE(read) << bad;
    EXPECT_EQ(read.error().code, ErrorCode::kInvalidRequest);
    EXPECT_EQ(read.error().message, "'limit' must be a non-negative integer.");
  }
}

}  // namespace
}  // namespace batchq
