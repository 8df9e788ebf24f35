#pragma once
// CURVE on ZeroMQ sockets, and the rule every process applies before it uses a socket
// without it: plain ZeroMQ only on loopback, and only when asked for by name.

#include <optional>
#include <string>
#include <string_view>

#include <zmq.hpp>

#include "common/curve_keys.h"
#include "common/error.h"

namespace batchq {

// What a gateway or worker needs to talk CURVE to the broker: its own pair and the
// broker's public key.
struct CurveClientKeys {
  CurveKeyPair own;
  std::string server_public_key;  // Z85
};

// Makes `socket` a CURVE server that asks the ZAP handler about each client under
// `zap_domain`. Call before bind().
void UseCurveServer(zmq::socket_t& socket, const CurveKeyPair& own, std::string_view zap_domain);

// Makes `socket` a CURVE client of the server whose public key it is given. Call
// before connect().
void UseCurveClient(zmq::socket_t& socket, const CurveClientKeys& keys);

// tcp:// to 127.0.0.0/8, [::1] or localhost, and ipc:// and inproc:// (which never
// leave the machine). Anything else, a wildcard bind included, is not.
bool IsLoopbackEndpoint(std::string_view endpoint);

// The keys a client process uses for `endpoint` (one, or a comma-separated list of
// brokers that share one key pair), from its flags: nullopt when `no_curve` is set
// (refused unless every endpoint is loopback); otherwise both files must
// name valid keys. Errors are sentences that say which flag to set.
Result<std::optional<CurveClientKeys>> LoadCurveClientKeys(const std::string& secret_file,
                                                           const std::string& server_public_file,
                                                           bool no_curve,
                                                           std::string_view endpoint);

}  // namespace batchq
