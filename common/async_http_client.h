#pragma once
// One keep-alive HTTP/1.1 connection driven by an io_context (Boost.Beast, and OpenSSL
// for https://): one request at a time, each answered through a callback on the
// context's thread. Many of them share one thread, where HttpClient needs a thread each:
// the load generator's connections cost its host a wake-up per event-loop turn instead
// of two context switches per request. It connects on the first request, and connects
// again (once per request) when the server closed a kept-alive connection, if sending the
// request again cannot do it twice: not a POST without an Idempotency-Key that was sent
// whole (RFC 9110, 9.2.2). HttpClient is one of these run on a context of its own.
// Not thread-safe: Send only from the context's thread (or before it runs). An exchange
// in progress holds what it needs, so its callback still runs if the client is dropped.

#include <functional>
#include <memory>
#include <string_view>

#include <boost/asio/io_context.hpp>

#include "common/error.h"
#include "common/http_client.h"

namespace batchq {

class AsyncHttpClient {
 public:
  using Done = std::function<void(Result<HttpResponse>)>;

  // `base_url` as HttpClient::Connect takes it; fails on a bad URL or CA file.
  static Result<std::shared_ptr<AsyncHttpClient>> Create(boost::asio::io_context& io,
                                                         std::string_view base_url,
                                                         HttpClientOptions options);
  ~AsyncHttpClient();

  // Sends `request` and calls `done` with the answer, or with the error that ended the
  // exchange (kConnectFailed, kIoError). Each step (connecting with TLS's handshake,
  // sending, reading the answer) gets options.timeout; past it the exchange fails, and
  // the request is not sent again. Calling Send before `done` of the previous one ran is
  // a bug.
  void Send(HttpRequest request, Done done);

 private:
  struct Exchange;
  explicit AsyncHttpClient(std::shared_ptr<Exchange> exchange);
  std::shared_ptr<Exchange> exchange_;
};

}  // namespace batchq
