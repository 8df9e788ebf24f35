#pragma once
// Documents compiled into the gateway from files in the source tree, so the binary
// serves them without reading anything at run time. Static storage; thread-safe.

#include <string_view>

namespace batchq {

// The OpenAPI 3 document of the HTTP API (docs/api/openapi.json): GET /openapi.json.
std::string_view OpenApiDocument();
// The live dashboard (gateway/ui/dashboard.html): GET / and GET /ui.
std::string_view DashboardPage();

}  // namespace batchq
