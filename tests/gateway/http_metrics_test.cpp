// The gateway's HTTP metrics: route templates and the Prometheus text they expose.
#include "gateway/http_metrics.h"

#include <gtest/gtest.h>

namespace batchq {
namespace {

TEST(HttpMetricsTest, PathsMapToRouteTemplatesSoLabelsStayFew) {
  EXPECT_EQ(HttpMetrics::RouteOf("/v1/jobs"), "/v1/jobs");
  EXPECT_EQ(HttpMetrics::RouteOf("/v1/jobs:batch"), "/v1/jobs:batch");
  EXPECT_EQ(HttpMetrics::RouteOf("/v1/jobs/0123abcd"), "/v1/jobs/{id}");
  EXPECT_EQ(HttpMetrics::RouteOf("/v1/jobs/0123abcd/result"), "/v1/jobs/{id}/result");
  EXPECT_EQ(HttpMetrics::RouteOf("/v1/jobs/0123abcd/other"), "other");
  EXPECT_EQ(HttpMetrics::RouteOf("/v1/jobs/"), "other");
  EXPECT_EQ(HttpMetrics::RouteOf("/metrics"), "/metrics");
  EXPECT_EQ(HttpMetrics::RouteOf("/../etc/passwd"), "other");
  // The answer never points into the path: the request may be gone when it is used.
  const std::string path = "/v1/types";
  EXPECT_NE(HttpMetrics::RouteOf(path).data(), path.data());
}

TEST(HttpMetricsTest, KeepsItsOwnCopyOfTheRouteItCachesBy) {
  prometheus::Registry registry;
  HttpMetrics metrics(registry);
  for (int i = 0; i < 3; ++i) {
    std::string route = "/v1/types";  // gone after each call
    metrics.Observe(route, 200, std::chrono::milliseconds(1));
    route.assign("/garbage!");
  }
  const std::string text = RenderPrometheusText(registry);
  EXPECT_NE(text.find(R"(batchq_http_requests_total{code="200",route="/v1/types"} 3)"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("garbage"), std::string::npos) << text;
}

TEST(HttpMetricsTest, CountsAndLatenciesAppearInTheTextFormat) {
  prometheus::Registry registry;
  HttpMetrics metrics(registry);
  metrics.Observe("/v1/jobs", 202, std::chrono::milliseconds(2));
  metrics.Observe("/v1/jobs", 202, std::chrono::milliseconds(30));
  metrics.Observe("/v1/jobs", 400, std::chrono::microseconds(300));
  const std::string text = RenderPrometheusText(registry);
  EXPECT_NE(text.find("# TYPE batchq_http_requests_total counter"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(batchq_http_requests_total{code="202",route="/v1/jobs"} 2)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(batchq_http_requests_total{code="400",route="/v1/jobs"} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE batchq_http_request_duration_seconds histogram"), std::string::npos);
  // Cumulative buckets: 0.3 ms and 2 ms are <= 5 ms; 30 ms is not.
  EXPECT_NE(
      text.find(R"(batchq_http_request_duration_seconds_bucket{route="/v1/jobs",le="0.005"} 2)"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(batchq_http_request_duration_seconds_count{route="/v1/jobs"} 3)"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace batchq
