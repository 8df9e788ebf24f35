#include "gateway/http_metrics.h"

namespace batchq {

HttpMetrics::HttpMetrics(prometheus::Registry& registry)
    : requests_(prometheus::BuildCounter()
                    .Name("batchq_http_requests_total")
                    .Help("HTTP requests answered, by route template and status code")
                    .Register(registry)),
      latency_(prometheus::BuildHistogram()
                   .Name("batchq_http_request_duration_seconds")
                   .Help("Time from a request's arrival to its answer, by route template")
                   .Register(registry)),
      tenant_requests_(prometheus::BuildCounter()
                           .Name("batchq_tenant_requests_total")
                           .Help("Authenticated API requests answered, by tenant and status code")
                           .Register(registry)) {}

void HttpMetrics::ObserveTenant(std::string_view tenant, int status) {
  prometheus::Counter* counter = nullptr;
  {
    std::lock_guard lock(mutex_);
    auto key = std::make_pair(std::string(tenant), status);
    auto it = tenant_series_.find(key);
    if (it == tenant_series_.end()) {
      it = tenant_series_
               .emplace(key, &tenant_requests_.Add(
                                 {{"tenant", key.first}, {"code", std::to_string(status)}}))
               .first;
    }
    counter = it->second;
  }
  counter->Increment();
}

void HttpMetrics::Observe(std::string_view route, int status,
                          std::chrono::duration<double> latency) {
  prometheus::Counter* requests = nullptr;
  prometheus::Histogram* histogram = nullptr;
  {
    std::lock_guard lock(mutex_);
    auto it = series_.find(route);
    if (it == series_.end()) {
      // Long-polls (wait_ms) can hold a request for a minute: the buckets reach that far.
      static const prometheus::Histogram::BucketBoundaries kBuckets = {
          0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
      it = series_.emplace(std::string(route), RouteSeries{}).first;
      it->second.latency = &latency_.Add({{"route", std::string(route)}}, kBuckets);
    }
    RouteSeries& series = it->second;
    histogram = series.latency;
    auto code = series.requests.find(status);
    if (code == series.requests.end()) {
      code = series.requests
                 .emplace(status, &requests_.Add({{"route", std::string(route)},
                                                  {"code", std::to_string(status)}}))
                 .first;
    }
    requests = code->second;
  }
  requests->Increment();
  histogram->Observe(latency.count());
}

std::string_view HttpMetrics::RouteOf(std::string_view path) {
  // Views of these literals, never of `path`: the caller may outlive the request.
  static constexpr std::string_view kFixed[] = {"/v1/jobs",
                                                "/v1/jobs:batch",
                                                "/v1/types",
                                                "/healthz",
                                                "/readyz",
                                                "/metrics",
                                                "/openapi.json",
                                                "/",
                                                "/ui",
                                                "/v1/keys",
                                                "/v1/batch",
                                                "/v1/events",
                                                "/v1/webhooks/deliveries"};
  for (const std::string_view route : kFixed) {
    if (path == route) return route;
  }
  constexpr std::string_view kJobs = "/v1/jobs/";
  if (path.starts_with(kJobs) && path.size() > kJobs.size()) {
    const std::string_view rest = path.substr(kJobs.size());
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos) {
      return rest.ends_with(":retry") ? "/v1/jobs/{id}:retry" : "/v1/jobs/{id}";
    }
    if (rest.substr(slash) == "/result") return "/v1/jobs/{id}/result";
    if (rest.substr(slash) == "/events") return "/v1/jobs/{id}/events";
  }
  if (path.starts_with("/v1/keys/")) return "/v1/keys/{id}";
  if (path.starts_with("/v1/webhooks/deliveries/")) return "/v1/webhooks/deliveries/{id}:resend";
  return "other";
}

ConnectionMetrics::ConnectionMetrics(prometheus::Registry& registry)
    : open_(prometheus::BuildGauge()
                .Name("batchq_http_open_connections")
                .Help("HTTP connections open now")
                .Register(registry)
                .Add({})),
      dropped_(prometheus::BuildCounter()
                   .Name("batchq_http_connections_dropped_total")
                   .Help("HTTP connections refused or cut, by reason: limit (the connection "
                         "cap), accept_error, header_timeout, body_timeout")
                   .Register(registry)) {}

void ConnectionMetrics::OnConnectionOpened() { open_.Increment(); }

void ConnectionMetrics::OnConnectionClosed() { open_.Decrement(); }

void ConnectionMetrics::OnConnectionDropped(std::string_view reason) {
  prometheus::Counter* counter = nullptr;
  {
    std::lock_guard lock(mutex_);
    auto it = dropped_by_reason_.find(reason);
    if (it == dropped_by_reason_.end()) {
      it = dropped_by_reason_
               .emplace(std::string(reason), &dropped_.Add({{"reason", std::string(reason)}}))
               .first;
    }
    counter = it->second;
  }
  counter->Increment();
}

}  // namespace batchq
