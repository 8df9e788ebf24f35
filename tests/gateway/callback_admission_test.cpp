#include "gateway/callback_admission.h"

#include <gtest/gtest.h>

namespace batchq {
namespace {

TEST(CallbackAdmissionTest, NeedsAKeyWithASecretAndRefusesAnUnlistedInnerAddress) {
  const auto loopback = DestinationAllowList::Parse("127.0.0.1");
  const auto none = DestinationAllowList::Parse("");
  ASSERT_TRUE(loopback && none);
  EXPECT_FALSE(CheckCallback("http://127.0.0.1:9/hook", true, *loopback));
  EXPECT_FALSE(CheckCallback("https://8.8.8.8/hook", true, *none)) << "public";
  EXPECT_FALSE(CheckCallback("https://hooks.example.com/x", true, *none))
      << "a name is checked where it resolves, at delivery";

  const auto no_secret = CheckCallback("https://8.8.8.8/hook", false, *none);
  ASSERT_TRUE(no_secret);
  EXPECT_EQ(no_secret->code, ErrorCode::kInvalidRequest);
  EXPECT_NE(no_secret->message.find("--webhook"), std::string::npos) << no_secret->message;

  for (const char* inner : {"http://127.0.0.1/h", "http://10.1.2.3/h", "http://[::1]:80/h",
                            "http://169.254.169.254/latest", "http://192.168.0.1/h"}) {
    const auto refused = CheckCallback(inner, true, *none);
    ASSERT_TRUE(refused) << inner;
    EXPECT_NE(refused->message.find("--webhook-allow"), std::string::npos) << refused->message;
  }
  EXPECT_TRUE(CheckCallback("http://10.1.2.3/h", true, *loopback)) << "listed is only 127.0.0.1";
  EXPECT_TRUE(CheckCallback("ftp://8.8.8.8/h", true, *none)) << "the URL is checked too";
}

}  // namespace
}  // namespace batchq
