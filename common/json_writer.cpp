#include "common/json_writer.h"

#include <fmt/format.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "common/decimal_text.h"

namespace batchq {

namespace {

// The escape of a byte JSON does not allow raw in a string, else null.
const char* EscapeOf(unsigned char byte) {
  switch (byte) {
    case '"':
      return "\\\"";
    case '\\':
      return "\\\\";
    case '\n':
      return "\\n";
    case '\r':
      return "\\r";
    case '\t':
      return "\\t";
    case '\b':
      return "\\b";
    case '\f':
      return "\\f";
    default:
      return nullptr;
  }
}

}  // namespace

std::size_t PlainJsonPrefix(std::string_view text) {
  // A word's bytes are tested all at once (the zero-byte tests of "Bit Twiddling Hacks"):
  // `(v - 0x01..) & ~v & 0x80..` is nonzero exactly when some byte of v is zero, and
  // `(w - 0x20..) & ~w & 0x80..` when some byte of w is below 0x20. Whether a word holds
  // such a byte is exact; which one is found a byte at a time.
  constexpr std::uint64_t kOnes = 0x0101010101010101;
  constexpr std::uint64_t kHigh = 0x8080808080808080;
  std::size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, text.data() + i, sizeof word);
    const std::uint64_t quote = word ^ (kOnes * '"');
    const std::uint64_t backslash = word ^ (kOnes * '\\');
    const std::uint64_t found = ((word - kOnes * 0x20) & ~word) | ((quote - kOnes) & ~quote) |
                                ((backslash - kOnes) & ~backslash);
    if ((found & kHigh) != 0) break;
  }
  while (i < text.size() && IsPlainJsonByte(static_cast<unsigned char>(text[i]))) ++i;
  return i;
}

void AppendJsonString(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  // Runs of bytes that need no escape (nearly every byte of ids, keys and results) are
  // appended whole, not a byte at a time.
  while (true) {
    const std::size_t plain = PlainJsonPrefix(text);
    out.append(text.data(), plain);
    if (plain == text.size()) break;
    const auto byte = static_cast<unsigned char>(text[plain]);
    if (const char* escape = EscapeOf(byte)) {
      out += escape;
    } else {
      out += "\\u00";
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xF]);
    }
    text.remove_prefix(plain + 1);
  }
  out.push_back('"');
}

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (depth_ > 0) {
    const std::uint64_t bit = std::uint64_t{1} << (depth_ - 1);
    if ((has_items_ & bit) != 0) out_.push_back(',');
    has_items_ |= bit;
  }
}

void JsonWriter::Open(char bracket) {
  if (depth_ == kMaxDepth) throw std::logic_error("JsonWriter: containers nested too deep");
  BeforeValue();
  out_.push_back(bracket);
  has_items_ &= ~(std::uint64_t{1} << depth_);
  ++depth_;
}

void JsonWriter::Close(char bracket) {
  if (depth_ == 0) throw std::logic_error("JsonWriter: a container closed that was not open");
  out_.push_back(bracket);
  --depth_;
}

JsonWriter& JsonWriter::BeginObject() {
  Open('{');
  return *this;
}

JsonWriter& JsonWriter::EndObject() {
  Close('}');
  return *this;
}

JsonWriter& JsonWriter::BeginArray() {
  Open('[');
  return *this;
}

JsonWriter& JsonWriter::EndArray() {
  Close(']');
  return *this;
}

JsonWriter& JsonWriter::Key(JsonName name) {
  BeforeValue();
  out_.push_back('"');
  out_.append(name.text());
  out_.append("\":", 2);
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::KeyText(std::string_view key) {
  BeforeValue();
  AppendJsonString(out_, key);
  out_.push_back(':');
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view value) {
  BeforeValue();
  AppendJsonString(out_, value);
  return *this;
}

JsonWriter& JsonWriter::Int(std::int64_t value) {
  BeforeValue();
  out_ += DecimalText(value).view();
  return *this;
}

JsonWriter& JsonWriter::Double(double value) {
  BeforeValue();
  fmt::format_to(std::back_inserter(out_), "{}", value);
  return *this;
}

JsonWriter& JsonWriter::Bool(bool value) {
  BeforeValue();
  out_ += value ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::Null() {
  BeforeValue();
  out_ += "null";
  return *this;
}

JsonWriter& JsonWriter::Raw(std::string_view json) {
  BeforeValue();
  out_ += json;
  return *this;
}

std::string RenderError(ErrorCode code, std::string_view message) {
  JsonWriter json;
  json.BeginObject().Key("error").BeginObject();
  json.Key("code").String(Name(code)).Key("message").String(message);
  json.EndObject().EndObject();
  return json.Take();
}

}  // namespace batchq
