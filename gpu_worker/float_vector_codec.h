#pragma once
// The `mlp` job's input and output. Input: a JSON array of exactly `width` numbers,
// or a JSON string holding the base64 of `width` float32 values, little-endian (the
// compact form for clients that have the bytes). Output: a JSON array of numbers,
// each printed in the shortest form that reads back to the same float (null for a
// value that overflowed: JSON has no infinity).
// Thread-safe (each thread parses with its own parser).

#include <span>
#include <string>
#include <string_view>

#include "common/base64.h"  // the base64 form of the input
#include "common/error.h"

namespace batchq {

// Fills out[0..width) or returns invalid_input saying what is wrong with the item.
Status DecodeFloatVector(std::string_view json, std::span<float> out);
std::string EncodeFloatVector(std::span<const float> values);
// The input's compact form: a JSON string of the values' float32 bytes, little-endian, in
// base64 (what a client that has the bytes sends; benchmarks and tests make it here).
std::string EncodeFloatVectorBase64(std::span<const float> values);

}  // namespace batchq
