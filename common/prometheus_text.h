#pragma once
// The Prometheus text exposition format (version 0.0.4), by prometheus-cpp.

#include <string>
#include <string_view>

#include <prometheus/registry.h>

namespace batchq {

inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// The registry's metrics as text. Thread-safe.
std::string RenderPrometheusText(prometheus::Registry& registry);

}  // namespace batchq
