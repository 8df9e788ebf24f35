#pragma once
// Which scope each route needs. Pure. Every /v1/ route and /metrics need a key; the
// probes (/healthz, /readyz), the dashboard page and the OpenAPI document are open
// (the dashboard asks for a key and sends it with its own API calls).

#include <optional>
#include <string_view>

#include "common/api_key.h"

namespace batchq {

// nullopt: the route is open.
std::optional<Scope> RequiredScope(std::string_view method, std::string_view path);

}  // namespace batchq
