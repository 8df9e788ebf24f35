// The gateway's key checks alone: the authenticator with an in-memory key table and an
// injected clock, the rate limiter's buckets, which scope each route needs, the key
// request's JSON, and the --auth none guard.
#include <gtest/gtest.h>

#include "gateway/gateway_config.h"
#include "gateway/key_authenticator.h"
#include "gateway/key_json.h"
#include "gateway/proven_secrets.h"
#include "gateway/rate_limiter.h"
#include "gateway/route_scope.h"

namespace batchq {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class KeyAuthenticatorTest : public ::testing::Test {
 protected:
  KeyAuthenticatorTest()
      : auth_(KeyAuthenticator::Options{500ms, 100},
              [this](std::string_view id) -> Result<std::optional<KeyRecord>> {
                ++lookups_;
                if (redis_down_) return Fail(ErrorCode::kRedisUnavailable);
                const auto it = table_.find(std::string(id));
                if (it == table_.end()) return std::optional<KeyRecord>();
                return std::optional<KeyRecord>(it->second);
              },
              {}) {
    text_ = NewKeyText();
    KeyRecord key;
    key.id = text_.id;
    key.tenant = "alpha";
    key.scopes = static_cast<ScopeSet>(Scope::kRead);
    key.secret_sha256 = Sha256Hex(text_.secret);
    key.rate_per_s = 5;
    table_[key.id] = key;
  }
  Result<Caller> Authenticate(const std::string& header) {
    return auth_.Authenticate(header, now_, WallMicros(1'000'000));
  }
  std::string Header() const { return "Bearer " + FormatKeyText(text_); }

  std::map<std::string, KeyRecord> table_;
  bool redis_down_ = false;
  int lookups_ = 0;
  KeyText text_;
  Clock::time_point now_{std::chrono::seconds(100)};
  KeyAuthenticator auth_;
};

TEST_F(KeyAuthenticatorTest, AValidKeyIsItsTenantAndScopes) {
  auto caller = Authenticate(Header());
  ASSERT_TRUE(caller);
  EXPECT_EQ(caller->tenant, "alpha");
  EXPECT_EQ(caller->key_id, text_.id);
  EXPECT_EQ(caller->scopes, static_cast<ScopeSet>(Scope::kRead));
  EXPECT_EQ(caller->rate_per_s, 5);
}

TEST_F(KeyAuthenticatorTest, MissingMalformedUnknownAndWrongSecretAreAllUnauthenticated) {
  KeyText wrong = text_;
  wrong.secret[5] = wrong.secret[5] == '0' ? '1' : '0';
  KeyText unknown = NewKeyText();
  for (const std::string& header :
       {std::string(), std::string("Basic abc"), std::string("Bearer bq_x"),
        "Bearer " + FormatKeyText(wrong), "Bearer " + FormatKeyText(unknown)}) {
    auto caller = Authenticate(header);
    ASSERT_FALSE(caller) << header;
    EXPECT_EQ(caller.error().code, ErrorCode::kUnauthenticated) << header;
  }
}

TEST_F(KeyAuthenticatorTest, ARevocationIsSeenOnceTheCacheTimeHasPassed) {
  ASSERT_TRUE(Authenticate(Header()));
  table_[text_.id].revoked = true;
  now_ += 499ms;
  EXPECT_TRUE(Authenticate(Header())) << "within the cache time the old record holds";
  now_ += 1ms;
  auto refused = Authenticate(Header());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kUnauthenticated);
}

TEST_F(KeyAuthenticatorTest, ExpiredKeysAreRefused) {
  table_[text_.id].expires = WallMicros(1'000'000);  // the test's wall time
  EXPECT_FALSE(Authenticate(Header()));
}

TEST_F(KeyAuthenticatorTest, RedisDownUsesTheLastKnownRecordOrRefusesAsUnavailable) {
  ASSERT_TRUE(Authenticate(Header()));
  redis_down_ = true;
  now_ += 2s;
  EXPECT_TRUE(Authenticate(Header())) << "a key seen before stays usable while Redis is down";
  auto unseen = Authenticate("Bearer " + FormatKeyText(NewKeyText()));
  ASSERT_FALSE(unseen);
  EXPECT_EQ(unseen.error().code, ErrorCode::kRedisUnavailable);
}

TEST_F(KeyAuthenticatorTest, LookupsAreCachedAndTheCacheIsBounded) {
  ASSERT_TRUE(Authenticate(Header()));
  ASSERT_TRUE(Authenticate(Header()));
  EXPECT_EQ(lookups_, 1);
  for (int i = 0; i < 150; ++i) Authenticate("Bearer " + FormatKeyText(NewKeyText()));
  EXPECT_EQ(lookups_, 151);
}

TEST_F(KeyAuthenticatorTest, StaticKeysNeedNoLookup) {
  const KeyText admin = NewKeyText();
  KeyRecord record;
  record.id = admin.id;
  record.tenant = "admin";
  record.scopes = kAllScopes;
  record.secret_sha256 = Sha256Hex(admin.secret);
  KeyAuthenticator auth(
      KeyAuthenticator::Options{},
      [](std::string_view) {
        return Result<std::optional<KeyRecord>>(Fail(ErrorCode::kRedisUnavailable));
      },
      {record});
  const auto cached =
      auth.AuthenticateCached("Bearer " + FormatKeyText(admin), now_, WallMicros(1));
  ASSERT_TRUE(cached.has_value()) << "a static key needs no lookup";
  EXPECT_TRUE(*cached);
  auto caller = auth.Authenticate("Bearer " + FormatKeyText(admin), now_, WallMicros(1));
  ASSERT_TRUE(caller);
  EXPECT_TRUE(caller->admin());
}

TEST_F(KeyAuthenticatorTest, AuthenticateCachedAnswersExactlyWhenAuthenticateWouldNotLookUp) {
  // The gateway runs the others off its I/O threads, so it must agree with the lookups
  // Authenticate makes, and answer as Authenticate does.
  const auto cached = [&](const std::string& header) {
    const int before = lookups_;
    auto answer = auth_.AuthenticateCached(header, now_, WallMicros(1'000'000));
    EXPECT_EQ(lookups_, before) << "AuthenticateCached never looks up";
    return answer;
  };
  const std::string unknown = "Bearer " + FormatKeyText(NewKeyText());
  for (const std::string& header : {Header(), unknown}) {
    EXPECT_FALSE(cached(header)) << "never seen: " << header;
    const int before = lookups_;
    const bool valid = Authenticate(header).has_value();
    EXPECT_EQ(lookups_, before + 1);
    auto answer = cached(header);
    ASSERT_TRUE(answer) << "just cached: " << header;
    EXPECT_EQ(answer->has_value(), valid);
    if (!valid) {
      EXPECT_EQ(answer->error().code, ErrorCode::kUnauthenticated);
    }
    now_ += 499ms;
    EXPECT_TRUE(cached(header));
    Authenticate(header);
    EXPECT_EQ(lookups_, before + 1);
    now_ += 1ms;
    EXPECT_FALSE(cached(header)) << "stale: " << header;
    Authenticate(header);
    EXPECT_EQ(lookups_, before + 2);
  }
  // A cached key with the wrong secret is refused from the cache too.
  ASSERT_TRUE(Authenticate(Header()));
  KeyText wrong = text_;
  wrong.secret[5] = wrong.secret[5] == '0' ? '1' : '0';
  auto refused = cached("Bearer " + FormatKeyText(wrong));
  ASSERT_TRUE(refused);
  ASSERT_FALSE(*refused);
  EXPECT_EQ(refused->error().code, ErrorCode::kUnauthenticated);
  for (const char* malformed : {"", "Basic abc", "Bearer bq_x"}) {
    auto answer = cached(malformed);
    ASSERT_TRUE(answer) << malformed;
    ASSERT_FALSE(*answer) << malformed;
    EXPECT_EQ(answer->error().code, ErrorCode::kUnauthenticated) << malformed;
  }
}

TEST_F(KeyAuthenticatorTest, AProvenSecretLetsNoOtherSecretIn) {
  KeyText wrong = text_;
  wrong.secret[5] = wrong.secret[5] == '0' ? '1' : '0';
  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(Authenticate(Header())) << round;
    auto refused = Authenticate("Bearer " + FormatKeyText(wrong));
    ASSERT_FALSE(refused) << round;
    EXPECT_EQ(refused.error().code, ErrorCode::kUnauthenticated);
    auto cached =
        auth_.AuthenticateCached("Bearer " + FormatKeyText(wrong), now_, WallMicros(1'000'000));
    ASSERT_TRUE(cached);
    EXPECT_FALSE(*cached) << "from the cache, after the right secret was proven";
  }
}

TEST_F(KeyAuthenticatorTest, AKeyWhoseStoredHashChangesIsCheckedAgain) {
  ASSERT_TRUE(Authenticate(Header()));
  // The same id with another secret, as if its record were replaced.
  const KeyText renewed{text_.id, NewKeyText().secret};
  table_[text_.id].secret_sha256 = Sha256Hex(renewed.secret);
  now_ += 500ms;
  EXPECT_FALSE(Authenticate(Header())) << "the secret proven before no longer matches";
  EXPECT_TRUE(Authenticate("Bearer " + FormatKeyText(renewed)));
  EXPECT_FALSE(Authenticate(Header()));
}

TEST_F(KeyAuthenticatorTest, ARevokedKeyIsRefusedThoughItsSecretWasProven) {
  ASSERT_TRUE(Authenticate(Header()));
  ASSERT_TRUE(Authenticate(Header()));
  table_[text_.id].revoked = true;
  now_ += 500ms;
  EXPECT_FALSE(Authenticate(Header()));
}

TEST(ProvenSecretsTest, HoldsASecretOnlyWithItsIdAndTheHashItWasProvenAgainst) {
  ProvenSecrets proven(10);
  const std::string secret(64, 'a');
  const std::string hash = Sha256Hex(secret);
  EXPECT_FALSE(proven.Holds("id1", secret, hash)) << "nothing proven yet";
  proven.Add("id1", secret, hash);
  EXPECT_TRUE(proven.Holds("id1", secret, hash));
  std::string other = secret;
  other.back() = 'b';
  EXPECT_FALSE(proven.Holds("id1", other, hash)) << "another secret";
  EXPECT_FALSE(proven.Holds("id1", secret.substr(1), hash)) << "a shorter one";
  EXPECT_FALSE(proven.Holds("id1", secret, Sha256Hex(other))) << "another stored hash";
  EXPECT_FALSE(proven.Holds("id2", secret, hash)) << "another key";
  proven.Add("id1", other, Sha256Hex(other));
  EXPECT_TRUE(proven.Holds("id1", other, Sha256Hex(other)));
  EXPECT_FALSE(proven.Holds("id1", secret, hash)) << "one secret per key: the latest";
}

TEST(ProvenSecretsTest, IsEmptiedWhenItWouldGrowPastItsBound) {
  ProvenSecrets proven(3);
  const std::string secret(64, 'c');
  const std::string hash = Sha256Hex(secret);
  for (const char* id : {"a", "b", "c"}) proven.Add(id, secret, hash);
  for (const char* id : {"a", "b", "c"}) EXPECT_TRUE(proven.Holds(id, secret, hash)) << id;
  proven.Add("a", secret, hash);  // already there: nothing grows
  EXPECT_TRUE(proven.Holds("c", secret, hash));
  proven.Add("d", secret, hash);
  EXPECT_TRUE(proven.Holds("d", secret, hash));
  for (const char* id : {"a", "b", "c"}) EXPECT_FALSE(proven.Holds(id, secret, hash)) << id;
}

TEST(RateLimiterTest, ABucketAllowsItsBurstThenRefillsAtTheRate) {
  RateLimiter limiter;
  const Clock::time_point t0{std::chrono::seconds(10)};
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limiter.Take("k", 2, 3, t0)) << i;
  const auto wait = limiter.Take("k", 2, 3, t0);
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, 500ms);
  EXPECT_TRUE(limiter.Take("k", 2, 3, t0 + 499ms));
  EXPECT_FALSE(limiter.Take("k", 2, 3, t0 + 500ms));
  EXPECT_FALSE(limiter.Take("other", 2, 3, t0)) << "buckets are per key";
  EXPECT_FALSE(limiter.Take("k", 0, 0, t0)) << "rate 0 means no limit";
}

TEST(RouteScopeTest, EveryApiRouteNeedsAScopeAndTheProbesAreOpen) {
  EXPECT_EQ(RequiredScope("POST", "/v1/jobs"), Scope::kSubmit);
  EXPECT_EQ(RequiredScope("POST", "/v1/jobs:batch"), Scope::kSubmit);
  EXPECT_EQ(RequiredScope("GET", "/v1/jobs"), Scope::kRead);
  EXPECT_EQ(RequiredScope("GET", "/v1/jobs/abc"), Scope::kRead);
  EXPECT_EQ(RequiredScope("GET", "/v1/jobs/abc/result"), Scope::kRead);
  EXPECT_EQ(RequiredScope("DELETE", "/v1/jobs/abc"), Scope::kCancel);
  EXPECT_EQ(RequiredScope("GET", "/v1/types"), Scope::kRead);
  EXPECT_EQ(RequiredScope("PUT", "/v1/anything"), Scope::kRead);
  EXPECT_EQ(RequiredScope("GET", "/metrics"), Scope::kAdmin);
  EXPECT_EQ(RequiredScope("POST", "/v1/keys"), Scope::kAdmin);
  EXPECT_EQ(RequiredScope("DELETE", "/v1/keys/abc"), Scope::kAdmin);
  EXPECT_EQ(RequiredScope("GET", "/v1/webhooks/deliveries"), Scope::kRead);
  EXPECT_EQ(RequiredScope("POST", "/v1/webhooks/deliveries/j.1:resend"), Scope::kSubmit);
  for (const char* open : {"/healthz", "/readyz", "/", "/ui", "/openapi.json", "/nothing"}) {
    EXPECT_FALSE(RequiredScope("GET", open)) << open;
  }
}

TEST(KeyJsonTest, AKeyRequestIsCheckedFieldByField) {
  auto ok = ParseKeyRequest(
      R"({"tenant":"acme","scopes":["submit","read"],"rate":2.5,"max_queued":10,"weight":3,"expires_in_s":60})");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->tenant, "acme");
  EXPECT_EQ(ok->scopes,
            static_cast<ScopeSet>(Scope::kSubmit) | static_cast<ScopeSet>(Scope::kRead));
  EXPECT_EQ(ok->rate_per_s, 2.5);
  EXPECT_EQ(ok->max_queued, 10u);
  EXPECT_EQ(ok->weight, 3u);
  EXPECT_EQ(ok->expires_in, 60s);
  EXPECT_TRUE(ParseKeyRequest(R"({"tenant":"acme","scopes":"submit,read"})"));
  for (const char* bad :
       {"{", "[]", R"({"scopes":"read"})", R"({"tenant":"acme"})",
        R"({"tenant":"a:b","scopes":"read"})", R"({"tenant":"a","scopes":"write"})",
        R"({"tenant":"a","scopes":"read","weight":0})",
        R"({"tenant":"a","scopes":"read","rate":-1})",
        R"({"tenant":"a","scopes":"read","colour":"red"})"}) {
    EXPECT_FALSE(ParseKeyRequest(bad)) << bad;
  }
  KeyRecord key;
  key.id = "0123456789ab";
  key.tenant = "acme";
  key.scopes = kAllScopes;
  key.secret_sha256 = "deadbeef";
  const std::string shown = RenderKey(key);
  EXPECT_EQ(shown.find("deadbeef"), std::string::npos) << "a hash was shown";
  EXPECT_EQ(shown.find("\"key\""), std::string::npos);
  EXPECT_NE(RenderKey(key, "bq_x").find(R"("key":"bq_x")"), std::string::npos);
  EXPECT_NE(shown.find(R"("webhook":false)"), std::string::npos) << shown;

  auto webhook = ParseKeyRequest(R"({"tenant":"acme","scopes":"submit","webhook":true})");
  ASSERT_TRUE(webhook);
  EXPECT_TRUE(webhook->webhook);
  EXPECT_FALSE(ParseKeyRequest(R"({"tenant":"acme","scopes":"submit","webhook":"yes"})"));
  key.webhook_secret = "whsec_secret";
  EXPECT_EQ(RenderKey(key).find("whsec_secret"), std::string::npos) << "shown only when made";
  EXPECT_NE(RenderKey(key).find(R"("webhook":true)"), std::string::npos);
  EXPECT_NE(RenderKey(key, {}, true).find(R"("webhook_secret":"whsec_secret")"), std::string::npos);
  const KeyRecord keys[] = {key};
  EXPECT_EQ(RenderKeyList(keys).find("whsec_secret"), std::string::npos);
}

TEST(GatewayConfigTest, AuthNoneIsOnlyAllowedOnLoopback) {
  GatewayConfig config;
  config.auth = "none";
  config.listen_address = "127.0.0.1";
  EXPECT_EQ(CheckAuthConfig(config), "");
  config.listen_address = "::1";
  EXPECT_EQ(CheckAuthConfig(config), "");
  config.listen_address = "0.0.0.0";
  EXPECT_NE(CheckAuthConfig(config).find("loopback"), std::string::npos);
  config.listen_address = "10.1.2.3";
  EXPECT_NE(CheckAuthConfig(config), "");
  config.auth = "keys";
  EXPECT_EQ(CheckAuthConfig(config), "");
  config.tls_cert = "cert.pem";
  EXPECT_NE(CheckAuthConfig(config).find("--tls-key"), std::string::npos);
}

}  // namespace
}  // namespace batchq
