#pragma once
// The brokers a gateway or worker may reach, as its --broker flag gives them: one
// endpoint, or several separated by commas (an active broker and its standbys, in the
// order to try them).

#include <string>
#include <string_view>
#include <vector>

namespace batchq {

// The non-empty endpoints of `list`, spaces around them trimmed, in order.
inline std::vector<std::string> SplitBrokerEndpoints(std::string_view list) {
  std::vector<std::string> endpoints;
  while (!list.empty()) {
    const auto comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) endpoints.emplace_back(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return endpoints;
}

}  // namespace batchq
