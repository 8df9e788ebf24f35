#include "common/web_url.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

namespace batchq {
namespace {

bool IsNameChar(unsigned char c) { return std::isalnum(c) || c == '-' || c == '.' || c == '_'; }

Status ParseHostPort(std::string_view authority, bool https, WebUrl& url) {
  std::string_view port_text;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      return Fail(ErrorCode::kInvalidRequest, "The URL's IPv6 address has no closing ']'.");
    }
    url.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && !after.starts_with(':')) {
      return Fail(ErrorCode::kInvalidRequest, "The URL has text after its IPv6 address.");
    }
    if (!after.empty()) port_text = after.substr(1);
    const bool hex = std::all_of(url.host.begin(), url.host.end(), [](unsigned char c) {
      return std::isxdigit(c) || c == ':' || c == '.';
    });
    if (url.host.empty() || !hex) {
      return Fail(ErrorCode::kInvalidRequest, "The URL's IPv6 address is malformed.");
    }
  } else {
    const auto colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
    if (url.host.empty() || url.host.size() > 253 ||
        !std::all_of(url.host.begin(), url.host.end(), IsNameChar)) {
      return Fail(ErrorCode::kInvalidRequest,
                  "The URL's host must be a name of letters, digits, '-' and '.', or an address.");
    }
  }
  url.port = https ? 443 : 80;
  if (port_text.empty()) return Ok();
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
      port > 65535) {
    return Fail(ErrorCode::kInvalidRequest, "The URL's port must be from 1 to 65535.");
  }
  url.port = static_cast<std::uint16_t>(port);
  return Ok();
}

}  // namespace

Result<WebUrl> ParseWebUrl(std::string_view text) {
  if (text.size() > kMaxWebUrlBytes) {
    return Fail(ErrorCode::kInvalidRequest,
                fmt::format("The URL is longer than {} bytes.", kMaxWebUrlBytes));
  }
  if (std::any_of(text.begin(), text.end(),
                  [](unsigned char c) { return c <= ' ' || c == 0x7f; })) {
    return Fail(ErrorCode::kInvalidRequest, "The URL holds spaces or control characters.");
  }
  WebUrl url;
  std::string_view rest = text;
  if (rest.starts_with("https://")) {
    url.https = true;
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else {
    return Fail(ErrorCode::kInvalidRequest, "The URL must start with http:// or https://.");
  }
  const auto path = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, path);
  if (authority.find('@') != std::string_view::npos) {
    return Fail(ErrorCode::kInvalidRequest, "The URL may not hold a user name or password.");
  }
  if (auto parsed = ParseHostPort(authority, url.https, url); !parsed) {
    return std::unexpected(parsed.error());
  }
  if (path != std::string_view::npos) {
    std::string_view target = rest.substr(path);
    target = target.substr(0, target.find('#'));  // a fragment is never sent
    url.target = target.starts_with('?') ? "/" + std::string(target) : std::string(target);
    if (url.target.empty()) url.target = "/";
  }
  return url;
}

}  // namespace batchq
