#include "common/api_key.h"

#include <array>
#include <memory>

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/hex_text.h"

namespace batchq {
namespace {

constexpr std::array<std::pair<Scope, std::string_view>, 4> kScopeNames{{
    {Scope::kSubmit, "submit"},
    {Scope::kRead, "read"},
    {Scope::kCancel, "cancel"},
    {Scope::kAdmin, "admin"},
}};

constexpr std::string_view kKeyPrefix = "bq_";
constexpr std::size_t kIdBytes = 6;       // 12 hex digits
constexpr std::size_t kSecretBytes = 32;  // 256 bits

// Which bytes are lower-case hex digits: a table, since every request's key is checked
// byte by byte (80 of them) before anything else.
constexpr std::array<bool, 256> kLowerHex = [] {
  std::array<bool, 256> table{};
  for (char c = '0'; c <= '9'; ++c) table[static_cast<unsigned char>(c)] = true;
  for (char c = 'a'; c <= 'f'; ++c) table[static_cast<unsigned char>(c)] = true;
  return table;
}();

bool IsLowerHex(std::string_view text) {
  bool all = true;
  for (const char c : text) all &= kLowerHex[static_cast<unsigned char>(c)];
  return all;
}

}  // namespace

std::string_view ToString(Scope scope) {
  for (const auto& [value, name] : kScopeNames) {
    if (value == scope) return name;
  }
  return "unknown";
}

Result<ScopeSet> ParseScopes(std::string_view text) {
  ScopeSet set = 0;
  while (!text.empty()) {
    const auto comma = text.find(',');
    std::string_view word = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    while (!word.empty() && word.front() == ' ') word.remove_prefix(1);
    while (!word.empty() && word.back() == ' ') word.remove_suffix(1);
    if (word.empty()) continue;
    bool known = false;
    for (const auto& [value, name] : kScopeNames) {
      if (word == name) {
        set |= static_cast<ScopeSet>(value);
        known = true;
      }
    }
    if (!known) {
      return Fail(ErrorCode::kInvalidRequest,
                  fmt::format("Unknown scope '{}'; use submit, read, cancel or admin.", word));
    }
  }
  if (set == 0) return Fail(ErrorCode::kInvalidRequest, "A key needs at least one scope.");
  return set;
}

std::string ScopesText(ScopeSet set) {
  std::string out;
  for (const auto& [value, name] : kScopeNames) {
    if (!Has(set, value)) continue;
    if (!out.empty()) out += ',';
    out += name;
  }
  return out;
}

bool IsValidTenant(std::string_view tenant) {
  if (tenant.empty() || tenant.size() > 64) return false;
  for (char c : tenant) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool IsUsable(const KeyRecord& key, WallMicros now) {
  if (key.revoked) return false;
  return key.expires.count() == 0 || now < key.expires;
}

std::optional<KeyTextView> ParseKeyTextView(std::string_view text) {
  if (!text.starts_with(kKeyPrefix)) return std::nullopt;
  text.remove_prefix(kKeyPrefix.size());
  if (text.size() != kIdBytes * 2 + 1 + kSecretBytes * 2 || text[kIdBytes * 2] != '_') {
    return std::nullopt;
  }
  const std::string_view id = text.substr(0, kIdBytes * 2);
  const std::string_view secret = text.substr(kIdBytes * 2 + 1);
  if (!IsLowerHex(id) || !IsLowerHex(secret)) return std::nullopt;
  return KeyTextView{id, secret};
}

std::optional<KeyText> ParseKeyText(std::string_view text) {
  const auto parts = ParseKeyTextView(text);
  if (!parts) return std::nullopt;
  return KeyText{std::string(parts->id), std::string(parts->secret)};
}

KeyText NewKeyText() { return KeyText{RandomHex(kIdBytes), RandomHex(kSecretBytes)}; }

std::string FormatKeyText(const KeyText& key) {
  return fmt::format("{}{}_{}", kKeyPrefix, key.id, key.secret);
}

std::string Sha256Hex(std::string_view data) {
  // The algorithm is fetched once and each thread keeps its context: OpenSSL 3's
  // one-shot calls (EVP_Digest, SHA256) look the algorithm up in the provider tables
  // and allocate a context on every call, which cost ~9k instructions per request in
  // the gateway's profile (docs/BENCHMARKS.md).
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(
      EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (sha256 == nullptr || context == nullptr ||
      EVP_DigestInit_ex2(context.get(), sha256, nullptr) != 1 ||
      EVP_DigestUpdate(context.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(context.get(), digest.data(), &size) != 1) {
    throw std::runtime_error("SHA-256 is not available from OpenSSL");
  }
  return Hex(digest.data(), size);
}

bool SecretMatches(std::string_view secret, std::string_view stored_sha256_hex) {
  const std::string computed = Sha256Hex(secret);
  if (computed.size() != stored_sha256_hex.size()) return false;
  return CRYPTO_memcmp(computed.data(), stored_sha256_hex.data(), computed.size()) == 0;
}

std::optional<std::string_view> BearerToken(std::string_view authorization) {
  constexpr std::string_view kBearer = "bearer ";
  if (authorization.size() <= kBearer.size()) return std::nullopt;
  for (std::size_t i = 0; i < kBearer.size(); ++i) {
    const char c = authorization[i];
    if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != kBearer[i]) return std::nullopt;
  }
  std::string_view token = authorization.substr(kBearer.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty()) return std::nullopt;
  return token;
}

}  // namespace batchq
