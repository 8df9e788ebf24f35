#pragma once
// A small streaming JSON writer for responses and results. Debian's simdjson only
// parses; this covers the output side (escaping, commas) without a DOM.
// Not thread-safe; one writer builds one document.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error_code.h"

namespace batchq {

// Appends `text` as a quoted JSON string, escaping quotes, backslashes and control bytes.
void AppendJsonString(std::string& out, std::string_view text);

// Whether a byte goes into a JSON string as it is: not a quote, backslash or control
// byte. The one rule AppendJsonString and IsPlainJsonText both follow.
constexpr bool IsPlainJsonByte(unsigned char byte) {
  return byte >= 0x20 && byte != '"' && byte != '\\';
}

// How many of `text`'s first bytes are plain (IsPlainJsonByte): eight at a time, since
// every string of every answer passes through here and nearly all of it is plain.
std::size_t PlainJsonPrefix(std::string_view text);

// Whether `text` goes into JSON as it is, between quotes.
constexpr bool IsPlainJsonText(std::string_view text) {
  for (const char c : text) {
    if (!IsPlainJsonByte(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// The name of a field in batchq's own JSON, written as it is. Made from a string literal
// at compile time, which refuses a name JSON would need escaped, so that Key() need not
// look at its bytes again: answers write two dozen names each.
class JsonName {
 public:
  template <std::size_t N>
  consteval JsonName(const char (&name)[N]) : text_(name, N - 1) {           // NOLINT: implicit
    if (!IsPlainJsonText(text_)) throw "a JSON name must need no escaping";  // fails the build
  }
  std::string_view text() const { return text_; }

 private:
  std::string_view text_;
};

class JsonWriter {
 public:
  // Containers may nest this deep; deeper is a bug of the caller (std::logic_error).
  static constexpr int kMaxDepth = 64;

  JsonWriter() = default;
  // Reserves `capacity` bytes up front: an answer grown from empty was copied to a
  // larger buffer six or seven times.
  explicit JsonWriter(std::size_t capacity) { out_.reserve(capacity); }

  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(JsonName name);
  // A key that is data (a header's name, a count's label): escaped as any string.
  JsonWriter& KeyText(std::string_view key);
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
  void Open(char bracket);
  void Close(char bracket);

  std::string out_;
  // Bit i: the container open at depth i + 1 has an item. Bits, not a vector<bool>,
  // which allocated on every answer's first container.
  std::uint64_t has_items_ = 0;
  int depth_ = 0;
  bool after_key_ = false;
};

// The error body of every HTTP answer: {"error":{"code":...,"message":...}}.
std::string RenderError(ErrorCode code, std::string_view message);

}  // namespace batchq
