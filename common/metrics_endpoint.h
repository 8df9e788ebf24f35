#pragma once
// Serves a Prometheus registry at http://ADDRESS:PORT/metrics for the processes that
// have no HTTP server of their own (broker, workers): the gateway's Beast server on a
// thread of its own.

#include <memory>
#include <string>
#include <thread>

#include <prometheus/registry.h>
#include <boost/asio/io_context.hpp>

#include "common/http_server.h"

namespace batchq {

class MetricsEndpoint {
 public:
  // `listen` is HOST:PORT (port 0: any free port); empty: serve nothing. Throws
  // std::runtime_error when it cannot listen (a start-up failure).
  MetricsEndpoint(const std::string& listen, std::shared_ptr<prometheus::Registry> registry);
  ~MetricsEndpoint();  // stops serving and joins the thread

  // The port it listens on; 0 when it serves nothing.
  int port() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  boost::asio::io_context io_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

}  // namespace batchq
