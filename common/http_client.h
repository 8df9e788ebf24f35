#pragma once
// A small blocking HTTP/1.1 client over one keep-alive connection (Boost.Beast),
// used by the CLI, the load generator and the tests. Reconnects when the server
// closed the connection. Not thread-safe: one client per thread.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"

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

class HttpClient {
 public:
  // `base_url` is "http://host:port"; a path part is ignored.
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
