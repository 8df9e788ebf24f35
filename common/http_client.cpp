#include "common/http_client.h"

#include <fmt/format.h>
#include <strings.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/verify_mode.hpp>
#include <boost/system/error_code.hpp>

#include "common/async_http_client.h"

namespace batchq {

namespace asio = boost::asio;

std::string HttpResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() && strncasecmp(key.data(), name.data(), key.size()) == 0) {
      return value;
    }
  }
  return {};
}

// The asynchronous client, whose context runs for the length of each Send: its steps get
// their timeouts, which Beast's synchronous calls would ignore.
struct HttpClient::Impl {
  asio::io_context io;
  std::shared_ptr<AsyncHttpClient> client;
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
  boost::system::error_code ec;
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
  auto impl = std::make_unique<Impl>();
  auto client = AsyncHttpClient::Create(impl->io, base_url, std::move(options));
  if (!client) return std::unexpected(client.error());
  impl->client = std::move(*client);
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

Result<HttpResponse> HttpClient::Send(const HttpRequest& request) {
  Result<HttpResponse> answer = Fail(ErrorCode::kIoError, "The exchange ended without an answer.");
  impl_->client->Send(request,
                      [&answer](Result<HttpResponse> response) { answer = std::move(response); });
  impl_->io.restart();
  impl_->io.run();
  return answer;
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
