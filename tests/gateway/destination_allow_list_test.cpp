#include "gateway/destination_allow_list.h"

#include <gtest/gtest.h>

namespace batchq {
namespace {

using boost::asio::ip::make_address;

TEST(DestinationAllowListTest, PublicAddressesPassAndInnerOnesOnlyWhenListed) {
  auto none = DestinationAllowList::Parse("");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->Allows("example.com", make_address("93.184.216.34")));
  EXPECT_TRUE(none->Allows("example.com", make_address("2606:2800:220:1::1")));
  for (const char* inner : {"127.0.0.1", "10.1.2.3", "172.20.0.1", "192.168.1.1", "169.254.169.254",
                            "100.64.0.1", "0.0.0.0", "224.0.0.1", "::1", "::", "fd00::1", "fe80::1",
                            "::ffff:127.0.0.1", "::ffff:10.0.0.1"}) {
    EXPECT_FALSE(none->Allows("hooks.example", make_address(inner))) << inner;
  }
  auto listed = DestinationAllowList::Parse(" 127.0.0.1, 10.0.0.0/8 ,fd00::/8,Hooks.Internal");
  ASSERT_TRUE(listed) << listed.error().message;
  EXPECT_TRUE(listed->Allows("localhost", make_address("127.0.0.1")));
  EXPECT_FALSE(listed->Allows("localhost", make_address("127.0.0.2"))) << "one address, not /8";
  EXPECT_TRUE(listed->Allows("x", make_address("10.200.0.9")));
  EXPECT_TRUE(listed->Allows("x", make_address("::ffff:10.200.0.9")));
  EXPECT_TRUE(listed->Allows("x", make_address("fd12::1")));
  EXPECT_FALSE(listed->Allows("x", make_address("192.168.0.1")));
  EXPECT_TRUE(listed->Allows("hooks.internal", make_address("192.168.0.1")))
      << "a listed name may resolve anywhere";
}

TEST(DestinationAllowListTest, RefusesEntriesThatAreNeitherHostsNorNetworks) {
  for (const char* bad :
       {"10.0.0.0/33", "300.1.1.1", "10.0.0.0/x", "host name", "::1/200", "http://x"}) {
    auto parsed = DestinationAllowList::Parse(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidSetting);
  }
}

}  // namespace
}  // namespace batchq
