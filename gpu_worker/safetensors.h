#pragma once
// Reads the safetensors format (what PyTorch/JAX tooling exports): an 8-byte
// little-endian header length, a JSON header naming each tensor's dtype, shape and
// byte range, then the raw data. Every malformed file is an Error with a sentence
// that says what is wrong; nothing is trusted before it is checked.
// Written here because Debian packages no safetensors reader; the JSON header is
// parsed with simdjson.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace batchq {

struct SafetensorsTensor {
  std::string name;
  std::string dtype;  // "F32", "F16", "BF16", "I64", ...
  std::vector<std::int64_t> shape;
  std::size_t begin = 0;  // byte range within the data section
  std::size_t end = 0;
};

class SafetensorsFile {
 public:
  // Validates `bytes` (the whole file) and takes it.
  static Result<SafetensorsFile> Parse(std::string bytes);
  static Result<SafetensorsFile> Read(const std::string& path);

  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }
  const SafetensorsTensor* Find(std::string_view name) const;
  // The tensor's bytes, little-endian as stored.
  std::string_view Data(const SafetensorsTensor& tensor) const;
  // The tensor as float32 values; invalid_model unless its dtype is F32.
  Result<std::vector<float>> Floats(const SafetensorsTensor& tensor) const;

 private:
  std::string bytes_;
  std::size_t data_offset_ = 0;
  std::vector<SafetensorsTensor> tensors_;
};

// Serialises F32 tensors to the format (for tests and the seeded-model export).
struct NamedFloats {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<float> values;
};
std::string WriteSafetensors(const std::vector<NamedFloats>& tensors);

}  // namespace batchq
