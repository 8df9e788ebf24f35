#pragma once
// An HTTP/1.1 keep-alive server on Boost.Beast, plain or over TLS (OpenSSL). It reads a request
// (refusing bodies over the limit with 413), hands it to the handler with a Respond callback, and
// writes whatever reply comes back, whenever it comes. No thread is held while a
// handler waits. Runs on the caller's io_context, or spreads its connections over
// IoThreads. Each io_context it is given must be run by exactly one thread: a
// connection's handlers are serialised by that thread, not by a strand. Respond and
// ReplyStream may be called from any thread; a stream's pieces go out in the order its
// Send and End calls were made, whichever threads made them.
// Hostile clients are bounded: a cap on open connections (past it a new one is told
// 503 overloaded and closed), separate timeouts for an idle keep-alive connection, for
// the request's headers and for its body (so slow senders cannot hold connections),
// a header size limit, and a backoff when accept fails (EMFILE) instead of a busy loop.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include "common/http_types.h"
#include "common/io_threads.h"

namespace batchq {

class HttpServer {
 public:
  // The request is the handler's to take: passed along, not moved at each call (nine
  // strings per move, a few moves per request on the gateway's path).
  using Handler = std::function<void(HttpRequestIn&&, Respond)>;
  struct Options {
    std::string address = "127.0.0.1";
    std::uint16_t port = 8080;  // 0 picks a free port; see port()
    std::size_t max_body_bytes = 1u << 20;
    // HTTPS when set (see MakeServerTlsContext); plain HTTP when null.
    std::shared_ptr<boost::asio::ssl::context> tls;
    std::size_t max_connections = 10000;  // open at once
    std::size_t max_header_bytes = 16 * 1024;
    // Waiting for the first byte of a request on a kept-alive connection.
    std::chrono::milliseconds idle_timeout{75000};
    // From a request's first byte to the end of its headers (TLS handshake included);
    // on a new connection, also the wait for its first byte.
    std::chrono::milliseconds header_timeout{10000};
    // From the end of the headers to the end of the body.
    std::chrono::milliseconds body_timeout{30000};
    // A streamed reply (ReplyStream) whose client falls this far behind (bytes sent to
    // it and not yet written) is closed when it is sent more.
    std::size_t max_stream_backlog_bytes = 1u << 20;
  };
  // What happens to connections, for metrics. Called from the server's threads; must
  // be thread-safe and quick.
  class Observer {
   public:
    virtual ~Observer() = default;
    virtual void OnConnectionOpened() {}
    virtual void OnConnectionClosed() {}
    // Why a connection was refused or cut: "limit", "accept_error", "header_timeout",
    // "body_timeout".
    virtual void OnConnectionDropped(std::string_view /*reason*/) {}
  };

  // Binds and listens at once; throws std::runtime_error when it cannot.
  // `observer` may be null; otherwise it must outlive the server's sessions.
  HttpServer(boost::asio::io_context& io, Options options, Handler handler,
             Observer* observer = nullptr);
  // The same on several threads' contexts: it accepts on the first, and each connection
  // runs on the next context in turn. `threads` must outlive the server.
  HttpServer(IoThreads& threads, Options options, Handler handler, Observer* observer = nullptr);
  ~HttpServer();

  std::uint16_t port() const;
  // Stops accepting connections; requests already read still get their answers.
  void Stop();
  // Requests read and not yet answered (long-polls included). Thread-safe.
  std::size_t active() const;
  // Connections open now. Thread-safe.
  std::size_t connections() const;

 private:
  struct Impl;
  HttpServer(boost::asio::io_context& io, std::function<boost::asio::io_context&()> session_context,
             Options options, Handler handler, Observer* observer);
  std::shared_ptr<Impl> impl_;
};

// A TLS 1.2+ server context from PEM files (certificate chain and private key).
// Throws std::runtime_error naming the file that cannot be used (a start-up failure).
std::shared_ptr<boost::asio::ssl::context> MakeServerTlsContext(const std::string& cert_file,
                                                                const std::string& key_file);

}  // namespace batchq
