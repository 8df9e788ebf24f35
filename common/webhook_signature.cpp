#include "common/webhook_signature.h"

#include <array>
#include <stdexcept>

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include "common/hex_text.h"
#include "common/parse_number.h"

namespace batchq {
namespace {

constexpr std::string_view kSecretPrefix = "whsec_";
constexpr std::size_t kSecretBytes = 32;

std::string HmacHex(std::string_view secret, std::string_view text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data(),
           &size) == nullptr) {
    throw std::runtime_error("HMAC-SHA256 is not available from OpenSSL");
  }
  return Hex(digest.data(), size);
}

std::string SignedText(std::int64_t at, std::string_view body) {
  std::string text = std::to_string(at);
  text += '.';
  text += body;
  return text;
}

// The value of `name` in "t=...,v1=..."; empty when absent.
std::string_view Part(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const auto comma = header.find(',');
    std::string_view part = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.size() > name.size() && part.starts_with(name) && part[name.size()] == '=') {
      return part.substr(name.size() + 1);
    }
  }
  return {};
}

}  // namespace

std::string SignWebhook(std::string_view secret, std::chrono::seconds at, std::string_view body) {
  return fmt::format("t={},v1={}", at.count(), HmacHex(secret, SignedText(at.count(), body)));
}

bool VerifyWebhook(std::string_view secret, std::string_view header, std::string_view body,
                   std::chrono::seconds now, std::chrono::seconds tolerance) {
  const std::string_view t = Part(header, "t");
  const std::string_view v1 = Part(header, "v1");
  const auto at = ParseWholeNumber<std::int64_t>(t);
  if (!at) return false;
  if (std::chrono::abs(now - std::chrono::seconds(*at)) > tolerance) return false;
  const std::string expected = HmacHex(secret, SignedText(*at, body));
  return v1.size() == expected.size() &&
         CRYPTO_memcmp(v1.data(), expected.data(), expected.size()) == 0;
}

std::string NewWebhookSecret() { return std::string(kSecretPrefix) + RandomHex(kSecretBytes); }

}  // namespace batchq
