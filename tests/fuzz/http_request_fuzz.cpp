// Raw bytes as a client would send them: the HTTP parser with the gateway's limits,
// then whatever body it yields through the submit and key request parsers.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "common/http_types.h"
#include "gateway/key_json.h"
#include "gateway/submit_admission.h"

namespace http = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(1 << 20);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
  std::string body(bytes);  // the bytes as a body too, for parsers the header may stop
  batchq::HttpRequestIn request;
  request.content_type = "application/json";
  if (!ec && parser.is_done()) {
    auto& parsed = parser.get();
    request.content_type = std::string(parsed[http::field::content_type]);
    request.idempotency_key = std::string(parsed["Idempotency-Key"]);
    body = parsed.body();
  }
  request.body = body;
  const batchq::AdmissionLimits limits;
  (void)batchq::ParseSubmit(request, /*batch=*/false, limits);
  (void)batchq::ParseSubmit(request, /*batch=*/true, limits);
  (void)batchq::ParseKeyRequest(body);
  return 0;
}
