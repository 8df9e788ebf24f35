#pragma once
// The `upper` job: input a JSON string, result the same string with ASCII letters
// upper-cased and every other byte (UTF-8 sequences included) unchanged.

#include <span>
#include <string>
#include <string_view>

#include "common/error.h"

namespace batchq {

// The decoded string, or invalid_input when the JSON value is not a string.
Result<std::string> DecodeUpperInput(std::string_view json);
// The result as a JSON string.
std::string EncodeUpperResult(std::string_view text);
// The CPU reference transform, in place.
void UpperAsciiInPlace(std::span<char> bytes);

}  // namespace batchq
