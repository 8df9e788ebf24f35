#pragma once
// The gateway's HTTP metrics in Prometheus form: requests by route and status code,
// and request latency histograms by route. Routes are templates ("/v1/jobs/{id}"),
// never raw paths, so a label set stays small whatever clients send.
// Thread-safe. The metrics of each (route, code) are looked up in prometheus-cpp once
// and kept: a family's Add builds a label map and takes its lock, which on the submit
// path cost more than the rest of the bookkeeping (docs/BENCHMARKS.md).

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "common/http_server.h"
#include "common/prometheus_text.h"

namespace batchq {

class HttpMetrics {
 public:
  // `registry` must outlive this object.
  explicit HttpMetrics(prometheus::Registry& registry);

  void Observe(std::string_view route, int status, std::chrono::duration<double> latency);
  // One authenticated request of `tenant` answered with `status`. Tenants are made by
  // admins (keys), so the label set stays as small as the key list.
  void ObserveTenant(std::string_view tenant, int status);

  // The route template of `path`: /v1/jobs, /v1/jobs:batch, /v1/jobs/{id},
  // /v1/jobs/{id}/result, /v1/types, /healthz, /readyz, /metrics, or "other". The view
  // is of a static string, valid after `path` is gone.
  static std::string_view RouteOf(std::string_view path);

 private:
  struct RouteSeries {
    prometheus::Histogram* latency = nullptr;
    std::map<int, prometheus::Counter*> requests;  // by status code
  };

  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& latency_;
  std::mutex mutex_;
  std::map<std::string, RouteSeries, std::less<>> series_;  // by route
  prometheus::Family<prometheus::Counter>& tenant_requests_;
  std::map<std::pair<std::string, int>, prometheus::Counter*> tenant_series_;
};

// The HTTP server's connections: open now, and those refused or cut (by reason: limit,
// accept_error, header_timeout, body_timeout). Thread-safe.
class ConnectionMetrics : public HttpServer::Observer {
 public:
  // `registry` must outlive this object.
  explicit ConnectionMetrics(prometheus::Registry& registry);

  void OnConnectionOpened() override;
  void OnConnectionClosed() override;
  void OnConnectionDropped(std::string_view reason) override;

 private:
  prometheus::Gauge& open_;
  prometheus::Family<prometheus::Counter>& dropped_;
  std::mutex mutex_;
  std::map<std::string, prometheus::Counter*, std::less<>> dropped_by_reason_;
};

}  // namespace batchq
