#pragma once
// An HTTP/1.1 keep-alive server on Boost.Beast, plain or over TLS (OpenSSL). It reads a request
// (refusing bodies over the limit with 413), hands it to the handler with a Respond callback, and
// writes whatever reply comes back, whenever it comes. No thread is held while a
// handler waits. Runs on the caller's io_context; thread-safe as Asio is.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include "common/http_types.h"

namespace batchq {

class HttpServer {
 public:
  using Handler = std::function<void(HttpRequestIn, Respond)>;
  struct Options {
    std::string address = "127.0.0.1";
    std::uint16_t port = 8080;  // 0 picks a free port; see port()
    std::size_t max_body_bytes = 1u << 20;
    // HTTPS when set (see MakeServerTlsContext); plain HTTP when null.
    std::shared_ptr<boost::asio::ssl::context> tls;
  };

  // Binds and listens at once; throws std::runtime_error when it cannot.
  HttpServer(boost::asio::io_context& io, Options options, Handler handler);
  ~HttpServer();

  std::uint16_t port() const;
  // Stops accepting connections; requests already read still get their answers.
  void Stop();
  // Requests read and not yet answered (long-polls included). Thread-safe.
  std::size_t active() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// A TLS 1.2+ server context from PEM files (certificate chain and private key).
// Throws std::runtime_error naming the file that cannot be used (a start-up failure).
std::shared_ptr<boost::asio::ssl::context> MakeServerTlsContext(const std::string& cert_file,
                                                                const std::string& key_file);

}  // namespace batchq
