#include "gateway/query_params.h"

#include <charconv>

#include <fmt/format.h>

namespace batchq {

std::optional<std::string_view> QueryText(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
  }
  return std::nullopt;
}

Result<std::optional<std::int64_t>> QueryInt(std::string_view query, std::string_view name) {
  if (const auto found = QueryText(query, name)) {
    const std::string_view text = *found;
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value < 0) {
      return Fail(ErrorCode::kInvalidRequest,
                  fmt::format("'{}' must be a non-negative integer.", name));
    }
    return std::optional<std::int64_t>(value);
  }
  return std::optional<std::int64_t>();
}

}  // namespace batchq
