#pragma once
// An absolute http(s) URL as a webhook destination takes it: a scheme, a host (a name, an
// IPv4 address or a bracketed IPv6 one), an optional port and a target. Anything else is
// refused with a sentence: user info ("user@host", which hides the real host from a
// reader), spaces and control characters, other schemes, more than kMaxWebUrlBytes. Pure.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"

namespace batchq {

inline constexpr std::size_t kMaxWebUrlBytes = 2048;

struct WebUrl {
  bool https = false;
  std::string host;  // without brackets for IPv6
  std::uint16_t port = 80;
  std::string target = "/";  // path and query
};

// invalid_request with what is wrong.
Result<WebUrl> ParseWebUrl(std::string_view text);

}  // namespace batchq
