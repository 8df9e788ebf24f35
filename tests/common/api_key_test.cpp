#include "common/api_key.h"

#include <set>

#include <gtest/gtest.h>

namespace batchq {
namespace {

TEST(ApiKeyTest, KeysAreRandomWellFormedAndParseBack) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const KeyText key = NewKeyText();
    EXPECT_EQ(key.id.size(), 12u);
    EXPECT_EQ(key.secret.size(), 64u);  // 256 bits
    const std::string text = FormatKeyText(key);
    const auto parsed = ParseKeyText(text);
    ASSERT_TRUE(parsed) << text;
    EXPECT_EQ(parsed->id, key.id);
    EXPECT_EQ(parsed->secret, key.secret);
    const auto view = ParseKeyTextView(text);
    ASSERT_TRUE(view);
    EXPECT_EQ(view->id.data(), text.data() + 3) << "a view into the text, after bq_";
    EXPECT_EQ(view->secret, key.secret);
    EXPECT_TRUE(seen.insert(text).second) << "a key repeated";
  }
  EXPECT_FALSE(ParseKeyText(""));
  EXPECT_FALSE(ParseKeyText("bq_short_abc"));
  EXPECT_FALSE(ParseKeyText("bq_0123456789ab_" + std::string(63, 'a')));
  EXPECT_FALSE(ParseKeyText("bq_0123456789ab_" + std::string(64, 'G')));
  EXPECT_FALSE(ParseKeyText("xx_0123456789ab_" + std::string(64, 'a')));
}

TEST(ApiKeyTest, EveryByteButALowerHexDigitIsRefusedInTheIdAndTheSecret) {
  const std::string valid = "bq_0123456789ab_" + std::string(32, 'c') + std::string(32, 'f');
  ASSERT_TRUE(ParseKeyTextView(valid));
  // One position in the id, and the secret's first and last.
  for (const std::size_t at : {std::size_t{5}, std::size_t{16}, valid.size() - 1}) {
    for (int byte = 0; byte < 256; ++byte) {
      std::string text = valid;
      text[at] = static_cast<char>(byte);
      const bool hex = (byte >= '0' && byte <= '9') || (byte >= 'a' && byte <= 'f');
      EXPECT_EQ(ParseKeyTextView(text).has_value(), hex) << "byte " << byte << " at " << at;
    }
  }
}

TEST(ApiKeyTest, OnlyTheRightSecretMatchesItsStoredHash) {
  const KeyText key = NewKeyText();
  const std::string stored = Sha256Hex(key.secret);
  EXPECT_EQ(stored.size(), 64u);
  EXPECT_EQ(stored.find(key.secret), std::string::npos);
  EXPECT_TRUE(SecretMatches(key.secret, stored));
  std::string wrong = key.secret;
  wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
  EXPECT_FALSE(SecretMatches(wrong, stored));
  EXPECT_FALSE(SecretMatches(key.secret, stored.substr(1)));
  // A known vector: SHA-256("abc").
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ApiKeyTest, ScopesParseAndPrintInOneOrder) {
  auto scopes = ParseScopes("read, submit");
  ASSERT_TRUE(scopes);
  EXPECT_TRUE(Has(*scopes, Scope::kRead));
  EXPECT_TRUE(Has(*scopes, Scope::kSubmit));
  EXPECT_FALSE(Has(*scopes, Scope::kAdmin));
  EXPECT_EQ(ScopesText(*scopes), "submit,read");
  EXPECT_EQ(ScopesText(kAllScopes), "submit,read,cancel,admin");
  auto unknown = ParseScopes("read,write");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("'write'"), std::string::npos);
  EXPECT_FALSE(ParseScopes(""));
}

TEST(ApiKeyTest, ExpiryAndRevocationEndAKey) {
  KeyRecord key;
  EXPECT_TRUE(IsUsable(key, WallMicros(5)));
  key.expires = WallMicros(100);
  EXPECT_TRUE(IsUsable(key, WallMicros(99)));
  EXPECT_FALSE(IsUsable(key, WallMicros(100)));
  key.expires = WallMicros(0);
  key.revoked = true;
  EXPECT_FALSE(IsUsable(key, WallMicros(5)));
}

TEST(ApiKeyTest, BearerTokensAndTenantNames) {
  EXPECT_EQ(BearerToken("Bearer abc").value_or(""), "abc");
  EXPECT_EQ(BearerToken("bearer  abc ").value_or(""), "abc");
  EXPECT_FALSE(BearerToken("Basic abc"));
  EXPECT_FALSE(BearerToken("Bearer "));
  EXPECT_TRUE(IsValidTenant("team-a.prod_1"));
  EXPECT_FALSE(IsValidTenant(""));
  EXPECT_FALSE(IsValidTenant("a:b"));
  EXPECT_FALSE(IsValidTenant(std::string(65, 'a')));
}

}  // namespace
}  // namespace batchq
