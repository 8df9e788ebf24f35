#include "common/json_writer.h"

#include <fmt/format.h>

#include <stdexcept>

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

void AppendJsonString(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  // Runs of bytes that need no escape (nearly every byte of ids, keys and results) are
  // appended whole, not a byte at a time: this runs for every string of every answer.
  std::size_t run = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (IsPlainJsonByte(byte)) continue;
    out.append(text.data() + run, i - run);
    run = i + 1;
    if (const char* escape = EscapeOf(byte)) {
      out += escape;
    } else {
      out += "\\u00";
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xF]);
    }
  }
  out.append(text.data() + run, text.size() - run);
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
  fmt::format_to(std::back_inserter(out_), "{}", value);
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
