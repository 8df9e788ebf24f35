#include "common/http_response_head.h"

#include <cstdint>
#include <cstring>
#include <string_view>

#include <boost/beast/http/status.hpp>
#include <boost/container/small_vector.hpp>

#include "common/decimal_text.h"

namespace batchq {

namespace {

// A CR or LF would end the field early and let what follows pass for more headers.
// A plain loop: find_first_of calls memchr once per byte of the text.
bool SafeInHeader(std::string_view text) {
  for (const char c : text) {
    if (c == '\r' || c == '\n') return false;
  }
  return true;
}

bool Blank(char c) { return c == ' ' || c == '\t'; }

// Writes `text` at `at`, which has room for it; returns the end.
char* PutText(char* at, std::string_view text) {
  if (!text.empty()) std::memcpy(at, text.data(), text.size());
  return at + text.size();
}

// A field as it is written: the value as Beast stores one, without the spaces and tabs
// around it. A field whose name or value holds CR or LF is left out: it writes nothing.
class Field {
 public:
  Field() = default;  // no field
  Field(std::string_view name, std::string_view value) {
    if (!SafeInHeader(name) || !SafeInHeader(value)) return;
    while (!value.empty() && Blank(value.front())) value.remove_prefix(1);
    while (!value.empty() && Blank(value.back())) value.remove_suffix(1);
    name_ = name;
    value_ = value;
    written_ = true;
  }

  // A field this file writes itself, with neither CR, LF nor blanks to trim: unchecked.
  static Field Known(std::string_view name, std::string_view value) {
    Field field;
    field.name_ = name;
    field.value_ = value;
    field.written_ = true;
    return field;
  }

  std::size_t size() const { return written_ ? name_.size() + value_.size() + 4 : 0; }

  // Writes the field at `at`, which has room for size() bytes; returns the end.
  char* Put(char* at) const {
    if (!written_) return at;
    at = PutText(at, name_);
    at = PutText(at, ": ");
    at = PutText(at, value_);
    return PutText(at, "\r\n");
  }

 private:
  std::string_view name_;
  std::string_view value_;
  bool written_ = false;
};

}  // namespace

void AppendResponseHead(std::string& out, const HttpReply& reply, unsigned version,
                        bool keep_alive) {
  // Sized once, then written through a pointer, as AppendRespCommand does: fmt's parsing
  // of its format strings and a checked append per piece were most of this function's
  // instructions (docs/BENCHMARKS.md).
  const auto reason =
      boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(reply.status));
  const DecimalText status_text(static_cast<unsigned>(reply.status));
  const DecimalText length_text(reply.body.size());
  const std::string_view status = status_text.view();
  const std::string_view length = length_text.view();
  const Field server = Field::Known("Server", "batchq");
  const Field content_type("Content-Type", reply.content_type);
  // HTTP/1.1 keeps a connection open unless told; HTTP/1.0 closes it unless told.
  const bool say_connection = (version >= 11) != keep_alive;
  const Field connection =
      say_connection ? Field::Known("Connection", keep_alive ? "keep-alive" : "close") : Field();
  // The reply's own fields, each checked and trimmed once for the size and the write.
  boost::container::small_vector<Field, 4> fields;
  fields.reserve(reply.headers.size());
  for (const auto& [name, value] : reply.headers) fields.emplace_back(name, value);
  constexpr std::string_view kLength = "Content-Length: ";
  std::size_t size = std::string_view("HTTP/1.1  \r\n").size() + status.size() + reason.size() +
                     server.size() + content_type.size() + connection.size() + kLength.size() +
                     length.size() + 4;
  for (const Field& field : fields) size += field.size();

  const std::size_t start = out.size();
  out.resize(start + size);
  char* at = out.data() + start;
  at = PutText(at, "HTTP/");
  *at++ = static_cast<char>('0' + version / 10 % 10);
  *at++ = '.';
  *at++ = static_cast<char>('0' + version % 10);
  *at++ = ' ';
  at = PutText(at, status);
  *at++ = ' ';
  at = PutText(at, {reason.data(), reason.size()});
  at = PutText(at, "\r\n");
  at = server.Put(at);
  at = content_type.Put(at);
  for (const Field& field : fields) at = field.Put(at);
  at = connection.Put(at);
  at = PutText(at, kLength);
  at = PutText(at, length);
  PutText(at, "\r\n\r\n");
}

bool BodyAllowed(int status) { return status >= 200 && status != 204 && status != 304; }

}  // namespace batchq
