#pragma once
// A small streaming JSON writer for responses and results. Debian's simdjson only
// parses; this covers the output side (escaping, commas) without a DOM.
// Not thread-safe; one writer builds one document.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error_code.h"

namespace batchq {

// Appends `text` as a quoted JSON string, escaping quotes, backslashes and control bytes.
void AppendJsonString(std::string& out, std::string_view text);

class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& Int(std::int64_t value);
  JsonWriter& Double(double value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  // Inserts already-serialised JSON (a stored job input or result) verbatim.
  JsonWriter& Raw(std::string_view json);

  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  void BeforeValue();

  std::string out_;
  std::vector<bool> has_items_;  // one entry per open container
  bool after_key_ = false;
};

// The error body of every HTTP answer: {"error":{"code":...,"message":...}}.
std::string RenderError(ErrorCode code, std::string_view message);

}  // namespace batchq
