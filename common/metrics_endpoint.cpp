#include "common/metrics_endpoint.h"

#include <charconv>
#include <stdexcept>

#include <fmt/format.h>

#include "common/json_writer.h"
#include "common/prometheus_text.h"
#include "common/thread_name.h"

namespace batchq {

MetricsEndpoint::MetricsEndpoint(const std::string& listen,
                                 std::shared_ptr<prometheus::Registry> registry)
    : registry_(std::move(registry)), io_(1) {
  if (listen.empty()) return;
  const auto colon = listen.rfind(':');
  std::uint16_t port = 0;
  const char* digits = listen.data() + colon + 1;
  const char* end = listen.data() + listen.size();
  if (colon == std::string::npos || colon == 0 || std::from_chars(digits, end, port).ptr != end ||
      digits == end) {
    throw std::runtime_error(
        fmt::format("--metrics-listen must be HOST:PORT (e.g. 0.0.0.0:9100), not '{}'", listen));
  }
  HttpServer::Options options;
  options.address = listen.substr(0, colon);
  options.port = port;
  options.max_body_bytes = 4096;
  server_ = std::make_unique<HttpServer>(
      io_, options, [registry = registry_](HttpRequestIn request, Respond respond) {
        if (request.path != "/metrics") {
          return respond(
              HttpReply{404,
                        RenderError(ErrorCode::kNotFound, "Only /metrics is served here."),
                        "application/json",
                        {}});
        }
        respond(HttpReply{
            200, RenderPrometheusText(*registry), std::string(kPrometheusContentType), {}});
      });
  thread_ = std::thread([this] {
    NameThisThread("metrics");
    io_.run();
  });
}

MetricsEndpoint::~MetricsEndpoint() {
  if (server_ != nullptr) server_->Stop();
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

int MetricsEndpoint::port() const { return server_ == nullptr ? 0 : server_->port(); }

}  // namespace batchq
