#include "gateway/destination_allow_list.h"

#include <algorithm>
#include <cctype>
#include <span>

#include <fmt/format.h>

namespace batchq {
namespace {

namespace ip = boost::asio::ip;

bool InAny(const ip::address_v4& address, std::span<const ip::network_v4> networks) {
  return std::any_of(networks.begin(), networks.end(), [&](const ip::network_v4& network) {
    return ip::network_v4(address, network.prefix_length()).canonical() == network.canonical();
  });
}

bool InAny(const ip::address_v6& address, std::span<const ip::network_v6> networks) {
  return std::any_of(networks.begin(), networks.end(), [&](const ip::network_v6& network) {
    return ip::network_v6(address, network.prefix_length()).canonical() == network.canonical();
  });
}

// RFC 6890's special-purpose blocks that a webhook has no business reaching.
const std::vector<ip::network_v4>& InnerV4() {
  static const std::vector<ip::network_v4> networks = [] {
    std::vector<ip::network_v4> out;
    for (const char* text :
         {"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
          "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15",
          "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4"}) {
      out.push_back(ip::make_network_v4(text));
    }
    return out;
  }();
  return networks;
}

const std::vector<ip::network_v6>& InnerV6() {
  static const std::vector<ip::network_v6> networks = [] {
    std::vector<ip::network_v6> out;
    for (const char* text : {"::/128", "::1/128", "64:ff9b:1::/48", "100::/64", "2001:db8::/32",
                             "fc00::/7", "fe80::/10", "ff00::/8"}) {
      out.push_back(ip::make_network_v6(text));
    }
    return out;
  }();
  return networks;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool IsHostName(std::string_view text) {
  return !text.empty() && text.size() <= 253 &&
         std::all_of(text.begin(), text.end(), [](unsigned char c) {
           return std::isalnum(c) || c == '-' || c == '.' || c == '_';
         });
}

}  // namespace

Result<DestinationAllowList> DestinationAllowList::Parse(std::string_view comma_separated) {
  DestinationAllowList list;
  while (!comma_separated.empty()) {
    const auto comma = comma_separated.find(',');
    std::string_view entry = comma_separated.substr(0, comma);
    comma_separated =
        comma == std::string_view::npos ? std::string_view{} : comma_separated.substr(comma + 1);
    while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
    while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
    if (entry.empty()) continue;
    const std::string text(entry);
    boost::system::error_code ec;
    const bool has_prefix = entry.find('/') != std::string_view::npos;
    if (entry.find(':') != std::string_view::npos) {
      const auto network = has_prefix ? ip::make_network_v6(text, ec)
                                      : ip::network_v6(ip::make_address_v6(text, ec), 128);
      if (!ec) {
        list.networks_v6_.push_back(network);
        continue;
      }
    } else {
      const auto network = has_prefix ? ip::make_network_v4(text, ec)
                                      : ip::network_v4(ip::make_address_v4(text, ec), 32);
      if (!ec) {
        list.networks_v4_.push_back(network);
        continue;
      }
      if (!has_prefix && IsHostName(entry) &&
          !std::isdigit(static_cast<unsigned char>(entry.back()))) {
        list.hosts_.push_back(Lower(entry));
        continue;
      }
    }
    return Fail(ErrorCode::kInvalidSetting,
                fmt::format("Webhook allow-list entry '{}' is neither a host name, an address "
                            "nor a network (e.g. 10.0.0.0/8).",
                            entry));
  }
  return list;
}

bool DestinationAllowList::IsPublic(const ip::address& address) {
  if (address.is_v4()) return !InAny(address.to_v4(), InnerV4());
  const ip::address_v6 v6 = address.to_v6();
  if (v6.is_v4_mapped()) return IsPublic(ip::make_address_v4(ip::v4_mapped, v6));
  return !InAny(v6, InnerV6());
}

bool DestinationAllowList::Allows(std::string_view host, const ip::address& address) const {
  if (std::find(hosts_.begin(), hosts_.end(), Lower(host)) != hosts_.end()) return true;
  if (address.is_v4() && InAny(address.to_v4(), networks_v4_)) return true;
  if (address.is_v6()) {
    const ip::address_v6 v6 = address.to_v6();
    if (InAny(v6, networks_v6_)) return true;
    if (v6.is_v4_mapped() && InAny(ip::make_address_v4(ip::v4_mapped, v6), networks_v4_)) {
      return true;
    }
  }
  return IsPublic(address);
}

}  // namespace batchq
