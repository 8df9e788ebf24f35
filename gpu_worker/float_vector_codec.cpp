#include "gpu_worker/float_vector_codec.h"

#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>

#include <fmt/format.h>
#include <simdjson.h>

namespace batchq {
namespace {

std::unexpected<Error> Invalid(std::string message) {
  return Fail(ErrorCode::kInvalidInput, std::move(message));
}

}  // namespace

Status DecodeFloatVector(std::string_view json, std::span<float> out) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(json.data(), json.size(), /*realloc_if_needed=*/true).get(root) !=
      simdjson::SUCCESS) {
    return Invalid("The input is not valid JSON.");
  }
  std::string_view text;
  if (root.get(text) == simdjson::SUCCESS) {
    auto bytes = DecodeBase64(text);
    if (!bytes) return std::unexpected(bytes.error());
    if (bytes->size() != out.size() * sizeof(float)) {
      return Invalid(
          fmt::format("The base64 input holds {} bytes; this model takes {} float32 "
                      "values ({} bytes).",
                      bytes->size(), out.size(), out.size() * sizeof(float)));
    }
    std::memcpy(out.data(), bytes->data(), bytes->size());
    for (const float v : out) {
      if (!std::isfinite(v)) return Invalid("The input holds a NaN or infinite value.");
    }
    return Ok();
  }
  simdjson::dom::array array;
  if (root.get(array) != simdjson::SUCCESS) {
    return Invalid("The input must be an array of numbers or a base64 string of float32 values.");
  }
  if (array.size() != out.size()) {
    return Invalid(
        fmt::format("The input has {} values; this model takes {}.", array.size(), out.size()));
  }
  std::size_t i = 0;
  for (auto value : array) {
    double number = 0;
    if (value.get(number) != simdjson::SUCCESS) {
      return Invalid(fmt::format("Input value {} is not a number.", i));
    }
    const auto f = static_cast<float>(number);
    if (!std::isfinite(f)) return Invalid(fmt::format("Input value {} is out of float range.", i));
    out[i++] = f;
  }
  return Ok();
}

std::string EncodeFloatVectorBase64(std::span<const float> values) {
  static_assert(std::endian::native == std::endian::little, "the form is little-endian");
  const std::string_view bytes(reinterpret_cast<const char*>(values.data()),
                               values.size() * sizeof(float));
  return '"' + EncodeBase64(bytes) + '"';
}

std::string EncodeFloatVector(std::span<const float> values) {
  std::string out;
  out.reserve(values.size() * 14 + 2);
  out += '[';
  char buffer[32];
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    if (!std::isfinite(values[i])) {
      out += "null";  // JSON has no inf or NaN; an overflowing model says so this way
      continue;
    }
    const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, values[i]);
    out.append(buffer, ec == std::errc{} ? end : buffer);
  }
  out += ']';
  return out;
}

}  // namespace batchq
