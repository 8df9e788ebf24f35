#include "gateway/webhook_post.h"

#include <charconv>
#include <optional>

#include <fmt/format.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/verify_mode.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "common/byte_stream.h"

namespace batchq {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

WebhookPostResult NoAnswer(std::string error, bool refused = false) {
  WebhookPostResult result;
  result.outcome.destination_refused = refused;
  result.error = std::move(error);
  return result;
}

std::chrono::seconds RetryAfterOf(const http::response<http::string_body>& response) {
  const auto header = response[http::field::retry_after];
  std::int64_t seconds = 0;
  const auto [end, ec] = std::from_chars(header.data(), header.data() + header.size(), seconds);
  if (header.empty() || ec != std::errc() || end != header.data() + header.size() || seconds < 0) {
    return std::chrono::seconds(0);
  }
  return std::chrono::seconds(seconds);
}

http::request<http::string_body> RequestOf(
    const WebUrl& url, std::string_view body,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  http::request<http::string_body> request(http::verb::post, url.target, 11);
  request.set(http::field::host, fmt::format("{}:{}", url.host, url.port));
  request.set(http::field::user_agent, "batchq-webhook");
  request.set(http::field::content_type, "application/json");
  for (const auto& [name, value] : headers) request.set(name, value);
  request.keep_alive(false);
  request.body() = std::string(body);
  request.prepare_payload();
  return request;
}

// Runs one asynchronous operation to its end on `io`. The stream's expiry bounds only
// asynchronous operations (Beast ignores it for synchronous calls), so each step of a try
// runs this way, all under the one expiry set at the start.
template <class Start>
beast::error_code Await(asio::io_context& io, Start start) {
  beast::error_code result;
  start([&result](beast::error_code ec, auto&&...) { result = ec; });
  io.restart();
  io.run();
  return result;
}

WebhookPostResult Exchange(asio::io_context& io, ByteStream& stream,
                           http::request<http::string_body>& request) {
  beast::error_code ec =
      Await(io, [&](auto done) { http::async_write(stream, request, std::move(done)); });
  if (ec) return NoAnswer(fmt::format("The request could not be sent: {}.", ec.message()));
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024);  // a receiver's answer is read only for its status
  ec = Await(io, [&](auto done) { http::async_read(stream, buffer, parser, std::move(done)); });
  if (ec && ec != http::error::body_limit) {
    return NoAnswer(fmt::format("No answer: {}.", ec.message()));
  }
  WebhookPostResult result;
  result.outcome.status = parser.get().result_int();
  result.outcome.retry_after = RetryAfterOf(parser.get());
  return result;
}

}  // namespace

WebhookPostResult PostWebhook(const WebUrl& url, const DestinationAllowList& allow,
                              std::string_view body,
                              const std::vector<std::pair<std::string, std::string>>& headers,
                              std::chrono::milliseconds timeout) {
  asio::io_context io;
  tcp::resolver resolver(io);
  beast::error_code ec;
  const auto resolved = resolver.resolve(url.host, std::to_string(url.port), ec);
  if (ec) return NoAnswer(fmt::format("{} does not resolve: {}.", url.host, ec.message()));
  for (const auto& entry : resolved) {
    if (!allow.Allows(url.host, entry.endpoint().address())) {
      return NoAnswer(fmt::format("{} resolves to {}, which --webhook-allow does not list.",
                                  url.host, entry.endpoint().address().to_string()),
                      true);
    }
  }
  auto request = RequestOf(url, body, headers);
  std::optional<asio::ssl::context> tls;
  if (url.https) {
    tls.emplace(asio::ssl::context::tls_client);
    tls->set_default_verify_paths(ec);
    tls->set_verify_mode(asio::ssl::verify_peer);
  }
  const auto stream = ByteStream::Outgoing(io, tls ? &*tls : nullptr, url.host);
  stream->ExpiresAfter(timeout);
  ec = Await(io, [&](auto done) { stream->Connect(resolved, std::move(done)); });
  if (ec) return NoAnswer(fmt::format("Cannot connect to {}: {}.", url.host, ec.message()));
  ec = Await(io, [&](auto done) { stream->Handshake(std::move(done)); });
  if (ec) return NoAnswer(fmt::format("TLS with {} failed: {}.", url.host, ec.message()));
  return Exchange(io, *stream, request);
}

}  // namespace batchq
