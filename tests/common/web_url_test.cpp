#include "common/web_url.h"

#include <gtest/gtest.h>

namespace batchq {
namespace {

TEST(WebUrlTest, TakesHttpAndHttpsUrlsWithTheirHostPortAndTarget) {
  auto plain = ParseWebUrl("http://hooks.example.com/batchq?x=1#frag");
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_FALSE(plain->https);
  EXPECT_EQ(plain->host, "hooks.example.com");
  EXPECT_EQ(plain->port, 80);
  EXPECT_EQ(plain->target, "/batchq?x=1");
  auto secure = ParseWebUrl("https://10.0.0.5:8443");
  ASSERT_TRUE(secure);
  EXPECT_TRUE(secure->https);
  EXPECT_EQ(secure->port, 8443);
  EXPECT_EQ(secure->target, "/");
  auto v6 = ParseWebUrl("http://[::1]:9000/in");
  ASSERT_TRUE(v6) << v6.error().message;
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 9000);
}

TEST(WebUrlTest, RefusesWhatCouldHideOrBendTheDestination) {
  for (const char* bad :
       {"ftp://x/", "//x/", "x/y", "http://", "http://user@evil.example/", "http://a b/",
        "http://x:0/", "http://x:65536/", "http://x:80a/", "http://[::1/", "http://[zz]/",
        "http://ex\tample/", "http://exa%6dple/"}) {
    auto parsed = ParseWebUrl(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidRequest);
  }
  EXPECT_FALSE(ParseWebUrl("http://x/" + std::string(kMaxWebUrlBytes, 'a')));
}

}  // namespace
}  // namespace batchq
