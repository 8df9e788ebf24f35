#include "common/http_response_head.h"

#include <iterator>
#include <string_view>

#include <fmt/format.h>
#include <boost/beast/http/status.hpp>

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

void AppendField(std::string& out, std::string_view name, std::string_view value) {
  if (!SafeInHeader(name) || !SafeInHeader(value)) return;
  // As Beast stores a value: without the spaces and tabs around it.
  const auto first = value.find_first_not_of(" \t");
  value = first == value.npos ? std::string_view() : value.substr(first);
  value = value.substr(0, value.find_last_not_of(" \t") + 1);
  out.append(name).append(": ").append(value).append("\r\n");
}

}  // namespace

void AppendResponseHead(std::string& out, const HttpReply& reply, unsigned version,
                        bool keep_alive) {
  const auto status = static_cast<unsigned>(reply.status);
  const auto reason =
      boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(reply.status));
  fmt::format_to(std::back_inserter(out), "HTTP/{}.{} {} ", version / 10, version % 10, status);
  out.append(reason.data(), reason.size()).append("\r\n");
  AppendField(out, "Server", "batchq");
  AppendField(out, "Content-Type", reply.content_type);
  for (const auto& [name, value] : reply.headers) AppendField(out, name, value);
  // HTTP/1.1 keeps a connection open unless told; HTTP/1.0 closes it unless told.
  if (version >= 11 && !keep_alive) AppendField(out, "Connection", "close");
  if (version < 11 && keep_alive) AppendField(out, "Connection", "keep-alive");
  fmt::format_to(std::back_inserter(out), "Content-Length: {}\r\n\r\n", reply.body.size());
}

bool BodyAllowed(int status) { return status >= 200 && status != 204 && status != 304; }

}  // namespace batchq
