#pragma once
// API keys: what a key is allowed (scopes), whom it belongs to (a tenant), how its
// text is made and checked. A key's text is "bq_<id>_<secret>": the id (12 hex
// digits) names the key's record and is not secret; the secret is 256 random bits in
// hex. Only SHA-256 of the secret is ever stored. Because the secret is random and
// long, a fast hash is enough (a password hash guards low-entropy secrets); the stored
// hash is compared in constant time. Pure apart from reading the system's CSPRNG.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "common/wall_clock.h"

namespace batchq {

// What a key may do; a key holds a set of them (a bit mask).
enum class Scope : std::uint8_t {
  kSubmit = 1,  // POST /v1/jobs, /v1/jobs:batch, /v1/jobs/{id}:retry
  kRead = 2,    // GET jobs, results, types
  kCancel = 4,  // DELETE /v1/jobs/{id}
  kAdmin = 8,   // keys, every tenant's jobs, metrics
};
using ScopeSet = std::uint8_t;
inline constexpr ScopeSet kAllScopes = 15;

inline bool Has(ScopeSet set, Scope scope) { return (set & static_cast<ScopeSet>(scope)) != 0; }
// "submit,read" -> the set; invalid_request naming the unknown word.
Result<ScopeSet> ParseScopes(std::string_view comma_separated);
// The set as "submit,read,cancel,admin" (in that order).
std::string ScopesText(ScopeSet set);
std::string_view ToString(Scope scope);

// Tenant names: 1-64 of [A-Za-z0-9_.-], so they are safe in Redis keys and metrics.
bool IsValidTenant(std::string_view tenant);

// A key's stored record (never its secret).
struct KeyRecord {
  std::string id;
  std::string tenant;
  ScopeSet scopes = 0;
  std::string secret_sha256;     // hex
  double rate_per_s = 0;         // token bucket refill; 0: no limit
  std::uint32_t burst = 0;       // bucket size; 0: max(1, rate)
  std::uint64_t max_queued = 0;  // the tenant's queued jobs cap when submitting; 0: none
  // The tenant's stored-bytes cap when submitting; 0: the gateway's default.
  std::uint64_t max_stored_bytes = 0;
  std::uint32_t weight = 1;  // the tenant's share in the broker's fair share
  WallMicros created{0};
  WallMicros expires{0};  // 0: never
  bool revoked = false;
  // Signs the webhooks of this key's jobs (webhook_signature.h); empty: none. Kept as
  // is, not hashed: the gateways need it to sign.
  std::string webhook_secret;
};

// True while the key may be used at `now`.
bool IsUsable(const KeyRecord& key, WallMicros now);

struct KeyText {
  std::string id;
  std::string secret;
};
// The same parts as views into the text it was split from.
struct KeyTextView {
  std::string_view id;
  std::string_view secret;
};
// Splits "bq_<id>_<secret>"; nullopt when the text has another shape.
std::optional<KeyText> ParseKeyText(std::string_view text);
std::optional<KeyTextView> ParseKeyTextView(std::string_view text);
// A new key with a random id and secret. Throws std::runtime_error if the system has
// no randomness to give (a start-up failure, never normal operation).
KeyText NewKeyText();
std::string FormatKeyText(const KeyText& key);
std::string Sha256Hex(std::string_view data);
// Constant-time comparison of the secret's hash with the stored one.
bool SecretMatches(std::string_view secret, std::string_view stored_sha256_hex);

// The credentials of an "Authorization: Bearer <key>" header value; nullopt if it is
// not a bearer credential.
std::optional<std::string_view> BearerToken(std::string_view authorization);

}  // namespace batchq
