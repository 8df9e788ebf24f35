#pragma once
// Reads an optional field of a parsed reply: the value when present and of type T,
// otherwise `fallback`. For display and reports, where a missing field is not an error.

#include <simdjson.h>

namespace batchq::cli {

template <class T>
T JsonOr(simdjson::simdjson_result<simdjson::dom::element> field, T fallback) {
  T value;
  return field.get(value) == simdjson::SUCCESS ? value : fallback;
}

}  // namespace batchq::cli
