#pragma once
// The gateway's HTTP metrics in Prometheus form: requests by route and status code,
// and request latency histograms by route. Routes are templates ("/v1/jobs/{id}"),
// never raw paths, so a label set stays small whatever clients send.
// Thread-safe (prometheus-cpp's families and metrics are).

#include <chrono>
#include <string>
#include <string_view>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "common/prometheus_text.h"

namespace batchq {

class HttpMetrics {
 public:
  // `registry` must outlive this object.
  explicit HttpMetrics(prometheus::Registry& registry);

  void Observe(std::string_view route, int status, std::chrono::duration<double> latency);

  // The route template of `path`: /v1/jobs, /v1/jobs:batch, /v1/jobs/{id},
  // /v1/jobs/{id}/result, /v1/types, /healthz, /readyz, /metrics, or "other". The view
  // is of a static string, valid after `path` is gone.
  static std::string_view RouteOf(std::string_view path);

 private:
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& latency_;
};

}  // namespace batchq
