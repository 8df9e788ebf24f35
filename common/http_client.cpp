#include "common/http_client.h"

#include <optional>

#include <fmt/format.h>
#include <strings.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/verify_mode.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "common/byte_stream.h"
#include "common/http_message.h"

namespace batchq {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

std::string HttpResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() && strncasecmp(key.data(), name.data(), key.size()) == 0) {
      return value;
    }
  }
  return {};
}

struct HttpClient::Impl {
  std::string host;
  std::string port;
  HttpClientOptions options;
  asio::io_context io;
  std::optional<asio::ssl::context> tls_context;  // set for https://
  std::unique_ptr<ByteStream> stream;
  beast::flat_buffer buffer;
  bool connected = false;

  Status Open() {
    beast::error_code ec;
    asio::ip::tcp::resolver resolver(io);
    auto endpoints = resolver.resolve(host, port, ec);
    if (ec)
      return Fail(ErrorCode::kConnectFailed,
                  fmt::format("Cannot resolve {}: {}.", host, ec.message()));
    stream = ByteStream::Outgoing(io, tls_context ? &*tls_context : nullptr, host);
    stream->ConnectNow(endpoints, ec);
    if (ec) {
      return Fail(ErrorCode::kConnectFailed,
                  fmt::format("Cannot connect to {}:{}: {}.", host, port, ec.message()));
    }
    stream->HandshakeNow(ec);
    if (ec) {
      return Fail(ErrorCode::kConnectFailed,
                  fmt::format("TLS with {}:{} failed: {}.", host, port, ec.message()));
    }
    connected = true;
    buffer.clear();
    return Ok();
  }

  Result<HttpResponse> Exchange(http::request<http::string_body>& req) {
    beast::error_code ec;
    http::write(*stream, req, ec);
    if (ec) {
      connected = false;
      return Fail(ErrorCode::kIoError,
                  fmt::format("Sending the request failed: {}.", ec.message()));
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxHttpResponseBodyBytes);
    http::read(*stream, buffer, parser, ec);
    if (ec) {
      connected = false;
      return Fail(ErrorCode::kIoError,
                  fmt::format("Reading the response failed: {}.", ec.message()));
    }
    if (!parser.get().keep_alive()) connected = false;
    return FromBeastResponse(parser.get());
  }

  Result<HttpResponse> SendOnce(const HttpRequest& request) {
    if (!connected) {
      if (auto status = Open(); !status) return std::unexpected(status.error());
    }
    auto req = ToBeastRequest(request, host, options.bearer_token);
    return Exchange(req);
  }
};

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() = default;

Result<std::unique_ptr<HttpClient>> HttpClient::Connect(std::string_view base_url,
                                                        std::chrono::milliseconds timeout) {
  HttpClientOptions options;
  options.timeout = timeout;
  return Connect(base_url, std::move(options));
}

Result<HttpOrigin> ParseHttpOrigin(std::string_view base_url) {
  std::string_view rest = base_url;
  HttpOrigin origin;
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
    origin.https = true;
  } else if (rest.find("://") != std::string_view::npos) {
    return Fail(ErrorCode::kInvalidUrl,
                fmt::format("Only http:// and https:// URLs are supported, got '{}'.", base_url));
  }
  rest = rest.substr(0, rest.find('/'));
  const auto colon = rest.rfind(':');
  origin.host = std::string(rest.substr(0, colon));
  origin.port = colon == std::string_view::npos ? (origin.https ? "443" : "80")
                                                : std::string(rest.substr(colon + 1));
  if (origin.host.empty())
    return Fail(ErrorCode::kInvalidUrl, fmt::format("No host in '{}'.", base_url));
  return origin;
}

Status TrustServersOf(asio::ssl::context& context, const std::string& ca_file) {
  context.set_verify_mode(asio::ssl::verify_peer);
  beast::error_code ec;
  if (ca_file.empty()) {
    context.set_default_verify_paths(ec);
  } else {
    context.load_verify_file(ca_file, ec);
  }
  if (ec) {
    return Fail(ErrorCode::kIoError,
                fmt::format("Cannot load CA certificates '{}': {}.", ca_file, ec.message()));
  }
  return Ok();
}

Result<std::unique_ptr<HttpClient>> HttpClient::Connect(std::string_view base_url,
                                                        HttpClientOptions options) {
  auto origin = ParseHttpOrigin(base_url);
  if (!origin) return std::unexpected(origin.error());
  auto impl = std::make_unique<Impl>();
  impl->host = std::move(origin->host);
  impl->port = std::move(origin->port);
  if (origin->https) {
    impl->tls_context.emplace(asio::ssl::context::tls_client);
    if (auto trusted = TrustServersOf(*impl->tls_context, options.ca_file); !trusted) {
      return std::unexpected(trusted.error());
    }
  }
  impl->options = std::move(options);
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

Result<HttpResponse> HttpClient::Send(const HttpRequest& request) {
  const bool reused = impl_->connected;
  auto response = impl_->SendOnce(request);
  // A kept-alive connection the server closed in the meantime gets one fresh try.
  if (!response && reused && response.error().code == ErrorCode::kIoError) {
    response = impl_->SendOnce(request);
  }
  return response;
}

Result<HttpResponse> HttpClient::Get(std::string_view target) {
  return Send(HttpRequest{"GET", std::string(target), {}, {}});
}

Result<HttpResponse> HttpClient::PostJson(std::string_view target, std::string_view body) {
  return Send(HttpRequest{
      "POST", std::string(target), std::string(body), {{"Content-Type", "application/json"}}});
}

Result<HttpResponse> HttpClient::Delete(std::string_view target) {
  return Send(HttpRequest{"DELETE", std::string(target), {}, {}});
}

}  // namespace batchq
