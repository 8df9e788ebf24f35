#include "broker/peer_allow_list.h"

#include <fmt/format.h>

namespace batchq {

void PeerAllowList::Set(std::string_view domain, AllowedKeys keys) {
  domains_.insert_or_assign(std::string(domain), std::move(keys));
}

PeerVerdict PeerAllowList::Decide(std::string_view domain, std::string_view mechanism,
                                  std::string_view client_key) const {
  if (mechanism != "CURVE") {
    return PeerVerdict{false, "400", fmt::format("mechanism {} is not accepted", mechanism), ""};
  }
  const auto listed = domains_.find(domain);
  if (listed == domains_.end()) {
    return PeerVerdict{false, "400", fmt::format("no peers are allowed on '{}'", domain), ""};
  }
  const auto key = listed->second.find(client_key);
  if (key == listed->second.end()) {
    return PeerVerdict{false, "400", fmt::format("key not allowed on '{}'", domain), ""};
  }
  return PeerVerdict{true, "200", "OK", key->second};
}

std::size_t PeerAllowList::size(std::string_view domain) const {
  const auto listed = domains_.find(domain);
  return listed == domains_.end() ? 0 : listed->second.size();
}

}  // namespace batchq
