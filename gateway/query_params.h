#pragma once
// The query string's parameters, as the routes read them. Pure.

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/error.h"

namespace batchq {

// Reads one non-negative integer query parameter; nullopt when absent, invalid_request
// (naming it) when it is not one.
Result<std::optional<std::int64_t>> QueryInt(std::string_view query, std::string_view name);
// Reads one query parameter's raw (undecoded) text; nullopt when absent.
std::optional<std::string_view> QueryText(std::string_view query, std::string_view name);

}  // namespace batchq
