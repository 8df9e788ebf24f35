#pragma once
// Where webhooks may be sent (SSRF): any public address by default; private, loopback,
// link-local, shared, multicast and unspecified addresses only when listed, by host name
// or by network (`--webhook-allow 127.0.0.1,10.0.0.0/8,hooks.internal`). The check is
// made on the addresses a host resolves to, the ones then connected to, so a name that
// resolves to an inner address is refused too. Pure; immutable once parsed.

#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>

#include "common/error.h"

namespace batchq {

class DestinationAllowList {
 public:
  // Hosts and networks, comma-separated (spaces ignored); empty: public addresses only.
  // invalid_setting names an entry that is neither.
  static Result<DestinationAllowList> Parse(std::string_view comma_separated);

  // Whether a URL naming `host` may be called at `address`.
  bool Allows(std::string_view host, const boost::asio::ip::address& address) const;
  // Not private, loopback, link-local, shared, documentation, multicast or unspecified.
  static bool IsPublic(const boost::asio::ip::address& address);

 private:
  std::vector<std::string> hosts_;  // lower case
  std::vector<boost::asio::ip::network_v4> networks_v4_;
  std::vector<boost::asio::ip::network_v6> networks_v6_;
};

}  // namespace batchq
