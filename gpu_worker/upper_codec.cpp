#include "gpu_worker/upper_codec.h"

#include <simdjson.h>

#include "common/json_writer.h"

namespace batchq {

Result<std::string> DecodeUpperInput(std::string_view json) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(json.data(), json.size(), true).get(root) != simdjson::SUCCESS) {
    return Fail(ErrorCode::kInvalidInput, "The input is not valid JSON.");
  }
  std::string_view text;
  if (root.get(text) != simdjson::SUCCESS) {
    return Fail(ErrorCode::kInvalidInput, "upper takes a JSON string as input.");
  }
  return std::string(text);
}

std::string EncodeUpperResult(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  AppendJsonString(out, text);
  return out;
}

void UpperAsciiInPlace(std::span<char> bytes) {
  for (char& c : bytes) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - ('a' - 'A'));
  }
}

}  // namespace batchq
