#pragma once
// A small blocking HTTP/1.1 client over one keep-alive connection (Boost.Beast, and
// OpenSSL for https://), used by the CLI, the load generator and the tests: an
// AsyncHttpClient run on a context of its own. Reconnects when the server closed the
// connection. Each step of an exchange (connecting, sending, reading the answer) gets
// HttpClientOptions::timeout, and a request that timed out is not sent again. Not
// thread-safe: one client per thread.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"

namespace boost::asio::ssl {
class context;
}

namespace batchq {

struct HttpResponse {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  // Case-insensitive header lookup; empty when absent.
  std::string Header(std::string_view name) const;
};

struct HttpRequest {
  std::string method = "GET";
  std::string target = "/";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. Content-Type
};

struct HttpClientOptions {
  std::chrono::milliseconds timeout{5000};
  // Sent as "Authorization: Bearer <token>" with every request; empty: none.
  std::string bearer_token;
  // https: trust the CAs in this PEM file instead of the system's; the server's
  // certificate must also name the URL's host.
  std::string ca_file;
};

// Where a base URL points: "http://host:port" or "https://host:port" (the port defaults
// to 80 or 443; a path part is ignored).
struct HttpOrigin {
  std::string host;
  std::string port;
  bool https = false;
};
Result<HttpOrigin> ParseHttpOrigin(std::string_view base_url);

// Makes `context` verify servers against the CAs in `ca_file` (empty: the system's).
Status TrustServersOf(boost::asio::ssl::context& context, const std::string& ca_file);

class HttpClient {
 public:
  // `base_url` is "http://host:port" or "https://host:port"; a path part is ignored.
  static Result<std::unique_ptr<HttpClient>> Connect(std::string_view base_url,
                                                     HttpClientOptions options);
  static Result<std::unique_ptr<HttpClient>> Connect(std::string_view base_url,
                                                     std::chrono::milliseconds timeout);
  ~HttpClient();

  Result<HttpResponse> Send(const HttpRequest& request);
  Result<HttpResponse> Get(std::string_view target);
  Result<HttpResponse> PostJson(std::string_view target, std::string_view body);
  Result<HttpResponse> Delete(std::string_view target);

 private:
  struct Impl;
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace batchq
