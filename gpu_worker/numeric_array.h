#pragma once
// A job input that is a rectangular JSON array of numbers (a vector, a matrix, ...),
// read straight into one flat buffer with its shape. A Python handler that asks for
// NumPy inputs gets these as ndarrays without a JSON decode in Python.
// Thread-safe (each thread parses with its own parser).

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace batchq {

struct NumericArray {
  std::vector<std::size_t> shape;  // outermost first; never empty, no zero extent
  std::vector<double> values;      // row-major, the product of shape long
};

// At most this many nested levels are read as an array; deeper inputs are not numeric.
inline constexpr std::size_t kMaxNumericArrayRank = 8;

// nullopt unless `json` is a non-empty array whose leaves are all numbers at the same
// depth, every level rectangular (booleans, nulls and strings are not numbers). Integers
// beyond 2^53 are read as the nearest double.
std::optional<NumericArray> ParseNumericArray(std::string_view json);

}  // namespace batchq
