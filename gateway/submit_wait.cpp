#include "gateway/submit_wait.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <optional>

#include "gateway/query_params.h"

namespace batchq {
namespace {

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool SameToken(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The seconds of the first `wait` preference in a Prefer header, e.g.
// "respond-async, wait=10" or `wait="5"; foo`; nullopt if there is none usable.
std::optional<std::int64_t> PreferredWaitSeconds(std::string_view prefer) {
  while (!prefer.empty()) {
    const auto comma = prefer.find(',');
    std::string_view preference = prefer.substr(0, comma);
    prefer = comma == std::string_view::npos ? std::string_view{} : prefer.substr(comma + 1);
    preference = Trim(preference.substr(0, preference.find(';')));
    const auto equals = preference.find('=');
    if (equals == std::string_view::npos || !SameToken(Trim(preference.substr(0, equals)), "wait"))
      continue;
    std::string_view value = Trim(preference.substr(equals + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    std::int64_t seconds = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec == std::errc{} && end == value.data() + value.size() && seconds >= 0) return seconds;
  }
  return std::nullopt;
}

}  // namespace

Result<std::chrono::milliseconds> SubmitWait(std::string_view query, std::string_view prefer,
                                             std::chrono::milliseconds max) {
  auto wait_ms = QueryInt(query, "wait_ms");
  if (!wait_ms) return std::unexpected(wait_ms.error());
  std::chrono::milliseconds wait{0};
  if (*wait_ms) {
    wait = std::chrono::milliseconds(**wait_ms);
  } else if (const auto seconds = PreferredWaitSeconds(prefer)) {
    // Capped before converting, so that a huge number cannot overflow.
    wait = std::chrono::seconds(std::min<std::int64_t>(*seconds, 24 * 3600));
  }
  return std::min(wait, max);
}

}  // namespace batchq
