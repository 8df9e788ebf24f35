#pragma once
// Which CURVE client keys may connect to which broker port: the decision behind the
// ZAP handler, with no sockets. A domain names a port ("gateway", "worker"); a key
// listed for one domain is refused on the other, so a worker's key cannot submit and a
// gateway's key cannot register as a worker. Anything not CURVE is refused.
// Not thread-safe: the ZAP handler's thread owns it.

#include <map>
#include <string>
#include <string_view>

namespace batchq {

// Public key (Z85) → the name it was listed under (its file name without ".pub").
using AllowedKeys = std::map<std::string, std::string, std::less<>>;

struct PeerVerdict {
  bool allowed = false;
  std::string status_code;  // ZAP (RFC 27): "200" or "400"
  std::string status_text;
  std::string user_id;  // the key's listed name; libzmq attaches it to the peer's messages
};

class PeerAllowList {
 public:
  // Replaces the keys allowed under `domain`.
  void Set(std::string_view domain, AllowedKeys keys);

  // `client_key` is the peer's public key in Z85 (empty for mechanisms without one).
  PeerVerdict Decide(std::string_view domain, std::string_view mechanism,
                     std::string_view client_key) const;

  std::size_t size(std::string_view domain) const;

 private:
  std::map<std::string, AllowedKeys, std::less<>> domains_;
};

}  // namespace batchq
