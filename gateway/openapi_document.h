#pragma once
// The OpenAPI 3 document of the HTTP API (docs/api/openapi.json), compiled into the
// gateway and served at GET /openapi.json.

#include <string_view>

namespace batchq {

std::string_view OpenApiDocument();

}  // namespace batchq
