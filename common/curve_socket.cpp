#include "common/curve_socket.h"

#include <arpa/inet.h>

#include <fmt/format.h>

#include "common/broker_endpoints.h"

namespace batchq {

void UseCurveServer(zmq::socket_t& socket, const CurveKeyPair& own, std::string_view zap_domain) {
  socket.set(zmq::sockopt::curve_server, 1);
  socket.set(zmq::sockopt::curve_secretkey, own.secret_key);
  socket.set(zmq::sockopt::zap_domain, zap_domain);
}

void UseCurveClient(zmq::socket_t& socket, const CurveClientKeys& keys) {
  socket.set(zmq::sockopt::curve_serverkey, keys.server_public_key);
  socket.set(zmq::sockopt::curve_publickey, keys.own.public_key);
  socket.set(zmq::sockopt::curve_secretkey, keys.own.secret_key);
}

bool IsLoopbackEndpoint(std::string_view endpoint) {
  if (endpoint.starts_with("ipc://") || endpoint.starts_with("inproc://")) return true;
  if (!endpoint.starts_with("tcp://")) return false;
  std::string_view host = endpoint.substr(6);
  // A connect may name a local interface first: "tcp://source;host:port".
  if (const auto semicolon = host.find(';'); semicolon != std::string_view::npos) {
    host = host.substr(semicolon + 1);
  }
  if (host.starts_with("[")) {
    const auto close = host.find(']');
    return close != std::string_view::npos && host.substr(1, close - 1) == "::1";
  }
  const std::string name(host.substr(0, host.rfind(':')));
  in_addr address{};
  // A name like "127.0.0.1.example.com" resolves anywhere: only a literal counts.
  return name == "localhost" ||
         (::inet_pton(AF_INET, name.c_str(), &address) == 1 && name.starts_with("127."));
}

Result<std::optional<CurveClientKeys>> LoadCurveClientKeys(const std::string& secret_file,
                                                           const std::string& server_public_file,
                                                           bool no_curve,
                                                           std::string_view endpoint) {
  if (no_curve) {
    for (const auto& one : SplitBrokerEndpoints(endpoint)) {
      if (!IsLoopbackEndpoint(one)) {
        return Fail(ErrorCode::kInvalidSetting,
                    fmt::format("--no-curve is only allowed for a broker on this machine "
                                "(loopback); {} is not. Give --curve-secret-file and "
                                "--broker-public-key-file instead.",
                                one));
      }
    }
    return std::optional<CurveClientKeys>{};
  }
  if (secret_file.empty() || server_public_file.empty()) {
    return Fail(ErrorCode::kInvalidSetting,
                "Talking to the broker needs CURVE keys: set --curve-secret-file (this "
                "process's key, made by `batchq keygen`) and --broker-public-key-file, or "
                "--no-curve for a broker on loopback.");
  }
  auto own = LoadCurveSecretFile(secret_file);
  if (!own) return std::unexpected(own.error());
  auto server = LoadCurvePublicFile(server_public_file);
  if (!server) return std::unexpected(server.error());
  return std::optional<CurveClientKeys>{CurveClientKeys{std::move(*own), std::move(*server)}};
}

}  // namespace batchq
