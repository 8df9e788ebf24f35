#include "common/webhook_signature.h"

#include <gtest/gtest.h>

namespace batchq {
namespace {

using std::chrono::seconds;

TEST(WebhookSignatureTest, MatchesAnIndependentHmacAndVerifiesOnlyTheSameBodyTimeAndSecret) {
  // printf '%s' "1700000000.{}" | openssl dgst -sha256 -hmac key
  EXPECT_EQ(SignWebhook("key", seconds(1'700'000'000), "{}"),
            "t=1700000000,v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae");
  const std::string header = SignWebhook("whsec_a", seconds(1000), R"({"id":"j1"})");
  EXPECT_TRUE(VerifyWebhook("whsec_a", header, R"({"id":"j1"})", seconds(1100), seconds(300)));
  EXPECT_FALSE(VerifyWebhook("whsec_b", header, R"({"id":"j1"})", seconds(1100), seconds(300)));
  EXPECT_FALSE(VerifyWebhook("whsec_a", header, R"({"id":"j2"})", seconds(1100), seconds(300)));
  EXPECT_FALSE(VerifyWebhook("whsec_a", header, R"({"id":"j1"})", seconds(1400), seconds(300)))
      << "too old: a replay";
  std::string trailing = header;
  trailing.insert(header.find(','), "x");
  EXPECT_FALSE(VerifyWebhook("whsec_a", trailing, R"({"id":"j1"})", seconds(1100), seconds(300)))
      << "a time that is not a number in full: " << trailing;
  EXPECT_FALSE(VerifyWebhook("whsec_a", "v1=00", "{}", seconds(1000), seconds(300)));
  EXPECT_FALSE(VerifyWebhook("whsec_a", "", "{}", seconds(1000), seconds(300)));
}

TEST(WebhookSignatureTest, SecretsAreNewEachTimeAndSayWhatTheyAre) {
  const std::string a = NewWebhookSecret();
  EXPECT_TRUE(a.starts_with("whsec_"));
  EXPECT_EQ(a.size(), 6u + 64u);
  EXPECT_NE(a, NewWebhookSecret());
}

}  // namespace
}  // namespace batchq
