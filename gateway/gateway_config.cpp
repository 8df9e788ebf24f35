#include "gateway/gateway_config.h"

#include <sched.h>

#include <fmt/format.h>
#include <boost/asio/ip/address.hpp>

namespace batchq {

unsigned DefaultIoThreads(unsigned usable_cpus) {
  return usable_cpus == 1 || usable_cpus == 2 ? 1 : 2;
}

unsigned UsableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 0;
  return static_cast<unsigned>(CPU_COUNT(&set));
}

std::string CheckAuthConfig(const GatewayConfig& config) {
  if (config.tls_cert.empty() != config.tls_key.empty()) {
    return "HTTPS needs both --tls-cert and --tls-key.";
  }
  if (config.auth != "none") return {};
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(config.listen_address, ec);
  if (ec || !address.is_loopback()) {
    return fmt::format(
        "--auth none lets anyone who reaches the port do anything, so it is only allowed on a "
        "loopback address; --listen is '{}'. Use API keys (--auth keys) to listen there.",
        config.listen_address);
  }
  return {};
}

}  // namespace batchq
