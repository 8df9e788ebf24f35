#include "common/http_server.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <deque>
#include <iterator>
#include <mutex>
#include <optional>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "common/byte_stream.h"
#include "common/http_response_head.h"
#include "common/json_writer.h"
#include "common/log_throttle.h"

namespace batchq {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// What every session of one server shares. (Outside the anonymous namespace below:
// HttpServer::Impl, which has linkage, holds one, and GCC's -Wsubobject-linkage flags
// such a member in a unity build, where this file is an included one.)
struct HttpServerShared {
  HttpServerShared(HttpServer::Options opts, HttpServer::Handler h, HttpServer::Observer* obs)
      : options(std::move(opts)), handler(std::move(h)), observer(obs) {}

  const HttpServer::Options options;
  const HttpServer::Handler handler;
  // Cleared when the server goes: sessions may outlive it (until the io_context goes)
  // and must not call an observer that is gone.
  std::atomic<HttpServer::Observer*> observer;
  std::atomic<std::size_t> active{0};  // requests read and not answered
  std::atomic<std::size_t> open{0};    // connections
};

namespace {

// Each connection's handlers run on its io_context's own executor. Every context the
// server is given is run by one thread (see the header), so that thread already runs a
// connection's handlers one at a time, and a strand would only add its queue, its lock
// and a shared state copied and released on each operation (docs/BENCHMARKS.md). The
// executor's type is named, not erased (beast::tcp_stream's any_io_executor), in
// ByteStream's Socket, for the same reason.
using Socket = ByteStream::Socket;

// One connection, plain TCP or TLS (ByteStream), which first shakes hands; everything
// after that is the same code.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<HttpServerShared> shared, std::unique_ptr<ByteStream> stream)
      : stream_(std::move(stream)), shared_(std::move(shared)) {
    ++shared_->open;
    if (auto* observer = shared_->observer.load()) observer->OnConnectionOpened();
  }
  ~Session() {
    --shared_->open;
    if (auto* observer = shared_->observer.load()) observer->OnConnectionClosed();
  }

  void Start() {
    asio::dispatch(stream_->get_executor(), [self = shared_from_this()] {
      if (!self->stream_->tls()) return self->Read();
      self->stream_->ExpiresAfter(self->shared_->options.header_timeout);
      self->stream_->Handshake([self](beast::error_code ec) {
        if (ec) return self->Drop(ec, "header_timeout");  // not TLS, refused, or too slow
        self->Read();
      });
    });
  }

 private:
  // Waits for a request's first byte under the idle timeout, then reads its headers
  // and body under their own timeouts: a slow sender is cut off however it trickles.
  void Read() {
    parser_.emplace();
    parser_->body_limit(shared_->options.max_body_bytes);
    parser_->header_limit(static_cast<std::uint32_t>(shared_->options.max_header_bytes));
    if (buffer_.size() > 0) return ReadHeader();  // pipelined: its bytes are here already
    // A connection that never sent a request gets no keep-alive grace: otherwise idle
    // connections could hold every place under the cap for the whole idle timeout.
    stream_->ExpiresAfter(served_ ? shared_->options.idle_timeout
                                  : shared_->options.header_timeout);
    stream_->async_read_some(
        buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
          // A kept-alive connection idle past its timeout is closed quietly; a new one that
          // never sent a byte counts as a header timeout.
          if (ec) return self->served_ ? self->Close() : self->Drop(ec, "header_timeout");
          self->buffer_.commit(n);
          self->ReadHeader();
        });
  }

  void ReadHeader() {
    stream_->ExpiresAfter(shared_->options.header_timeout);
    http::async_read_header(*stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec == beast::error::timeout)
                                return self->Drop(ec, "header_timeout");
                              if (ec || self->parser_->is_done()) return self->OnRead(ec);
                              self->stream_->ExpiresAfter(self->shared_->options.body_timeout);
                              http::async_read(*self->stream_, self->buffer_, *self->parser_,
                                               [self](beast::error_code body_ec, std::size_t) {
                                                 if (body_ec == beast::error::timeout) {
                                                   return self->Drop(body_ec, "body_timeout");
                                                 }
                                                 self->OnRead(body_ec);
                                               });
                            });
  }

  void Drop(beast::error_code ec, std::string_view reason) {
    if (auto* observer = shared_->observer.load(); ec == beast::error::timeout && observer) {
      observer->OnConnectionDropped(reason);
    }
    Close();
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
        ec == asio::ssl::error::stream_truncated) {
      return Close();
    }
    if (ec == http::error::body_limit) {
      return WriteError(
          ErrorCode::kBodyTooLarge,
          fmt::format("The body exceeds the limit of {} bytes.", shared_->options.max_body_bytes));
    }
    if (ec == http::error::header_limit) {
      return WriteError(ErrorCode::kBadHttp,
                        fmt::format("The request's headers exceed the limit of {} bytes.",
                                    shared_->options.max_header_bytes));
    }
    if (ec) {
      return WriteError(ErrorCode::kBadHttp,
                        fmt::format("Malformed HTTP request: {}.", ec.message()));
    }
    auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    HttpRequestIn in;
    in.method = std::string(req.method_string());
    const std::string_view target(req.target().data(), req.target().size());
    const auto question = target.find('?');
    in.path = std::string(target.substr(0, question));
    if (question != std::string_view::npos) in.query = std::string(target.substr(question + 1));
    in.content_type = std::string(req[http::field::content_type]);
    in.idempotency_key = std::string(req["Idempotency-Key"]);
    in.prefer = std::string(req["Prefer"]);
    in.last_event_id = std::string(req["Last-Event-ID"]);
    in.authorization = std::string(req[http::field::authorization]);
    in.body = std::move(req.body());
    auto self = shared_from_this();
    auto answered = std::make_shared<std::atomic<bool>>(false);
    ++shared_->active;
    shared_->handler(std::move(in), [self, answered](HttpReply reply) {
      // One request, one response: a second answer would corrupt the connection.
      if (answered->exchange(true)) {
        spdlog::error("a handler answered one request twice; the second answer is dropped");
        return;
      }
      --self->shared_->active;
      asio::dispatch(self->stream_->get_executor(),
                     [self, reply = std::move(reply)]() mutable { self->Write(std::move(reply)); });
    });
  }

  // An answer to a request that could not be read: the connection closes after it.
  void WriteError(ErrorCode code, const std::string& message) {
    keep_alive_ = false;
    Write(HttpReply{HttpStatus(code), RenderError(code, message), "application/json", {}});
  }

  void Write(HttpReply reply) {
    if (reply.stream) return StartStream(std::move(reply));
    if (!BodyAllowed(reply.status) && !reply.body.empty()) {
      spdlog::error("a {} reply came with a body; the body is dropped", reply.status);
      reply.body.clear();
    }
    // One response at a time per connection: the head's buffer is reused, and the body
    // goes as it is, so a large result is not copied again.
    head_.clear();
    AppendResponseHead(head_, reply, version_, keep_alive_);
    body_ = std::move(reply.body);
    stream_->ExpiresAfter(shared_->options.idle_timeout);
    const std::array<asio::const_buffer, 2> buffers{asio::buffer(head_), asio::buffer(body_)};
    asio::async_write(*stream_, buffers,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        // Freed, not kept: a large result would stay with an idle connection.
                        std::string().swap(self->body_);
                        if (ec || !self->keep_alive_) return self->Close();
                        self->served_ = true;
                        self->Read();
                      });
  }

  // A streamed reply: headers now, then chunks as the stream is sent them. A streaming
  // connection serves no other request: anything the client sends, or its going, ends
  // the stream, and the connection closes when the stream ends.
  void StartStream(HttpReply reply) {
    keep_alive_ = false;
    chunked_ = version_ >= 11;
    auto res = std::make_shared<http::response<http::empty_body>>(
        static_cast<http::status>(reply.status), version_);
    res->set(http::field::server, "batchq");
    res->set(http::field::content_type, reply.content_type);
    res->set(http::field::cache_control, "no-cache");
    for (auto& [name, value] : reply.headers) res->set(name, value);
    if (chunked_) res->chunked(true);
    res->keep_alive(false);
    auto serializer = std::make_shared<http::response_serializer<http::empty_body>>(*res);
    stream_->ExpiresAfter(shared_->options.idle_timeout);
    http::async_write_header(
        *stream_, *serializer,
        [self = shared_from_this(), res, serializer, on_stream = std::move(reply.stream)](
            beast::error_code ec, std::size_t) {
          if (ec) return self->EndStream();
          self->WatchStreamingClient();
          on_stream(std::make_shared<SessionReplyStream>(self));
        });
  }

  void WatchStreamingClient() {
    stream_->async_read_some(
        buffer_.prepare(512),
        [self = shared_from_this()](beast::error_code, std::size_t) { self->EndStream(); });
  }

  // From any thread: a piece for QueueChunk, in the order handed. Without a strand, a
  // post from the connection's own thread waits in that thread's private queue until
  // its handler returns, so a piece another thread posts meanwhile would overtake it;
  // the pieces wait here instead, and one post takes all of them.
  void Hand(std::string bytes, bool last) {
    {
      std::lock_guard lock(handed_mutex_);
      handed_.emplace_back(std::move(bytes), last);
      if (take_posted_) return;
      take_posted_ = true;
    }
    asio::post(stream_->get_executor(), [self = shared_from_this()] { self->TakeHanded(); });
  }

  void TakeHanded() {
    std::deque<std::pair<std::string, bool>> pieces;
    {
      std::lock_guard lock(handed_mutex_);
      pieces.swap(handed_);
      take_posted_ = false;
    }
    for (auto& [bytes, last] : pieces) QueueChunk(std::move(bytes), last);
  }

  // Called on the connection's thread.
  void QueueChunk(std::string bytes, bool last) {
    // Nothing may follow the body's last chunk, whoever sends it.
    if (stream_closed_.load() || ending_) return;
    // The backlog counts what goes on the wire, framing included.
    const std::size_t raw = bytes.size();
    if (!bytes.empty()) {
      out_.push_back(chunked_ ? fmt::format("{:x}\r\n{}\r\n", bytes.size(), bytes)
                              : std::move(bytes));
      backlog_ += out_.back().size() - raw;
    }
    if (last) {
      ending_ = true;
      if (chunked_) backlog_ += out_.emplace_back("0\r\n\r\n").size();
    }
    if (!writing_) WriteNextChunk();
  }

  void WriteNextChunk() {
    if (out_.empty()) {
      writing_ = false;
      if (ending_) EndStream();
      return;
    }
    writing_ = true;
    // Each write renews the timeout: a client that stops reading is cut off after it,
    // and the heartbeats keep a quiet stream's reads from timing out.
    stream_->ExpiresAfter(shared_->options.idle_timeout);
    asio::async_write(*stream_, asio::buffer(out_.front()),
                      [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                        self->backlog_ -= n;
                        self->out_.pop_front();
                        if (ec || self->stream_closed_.load()) {
                          self->writing_ = false;
                          return self->EndStream();
                        }
                        self->WriteNextChunk();
                      });
  }

  void EndStream() {
    if (stream_closed_.exchange(true)) return;
    // The piece being written stays until its write completes: the write still reads
    // it, and its completion takes it off the queue.
    out_.erase(writing_ && !out_.empty() ? std::next(out_.begin()) : out_.begin(), out_.end());
    Close();
  }

  // What a streaming handler holds: hands its pieces to the connection's thread.
  class SessionReplyStream : public ReplyStream {
   public:
    explicit SessionReplyStream(std::shared_ptr<Session> session) : session_(std::move(session)) {}
    bool Send(std::string bytes) override {
      if (session_->stream_closed_.load()) return false;
      // The bound applies to what is still unwritten before this piece, so one event
      // larger than the bound (a job with a large result) still goes to a client that
      // keeps up.
      if (session_->backlog_.fetch_add(bytes.size()) >
          session_->shared_->options.max_stream_backlog_bytes) {
        asio::post(session_->stream_->get_executor(), [s = session_] { s->EndStream(); });
        return false;
      }
      session_->Hand(std::move(bytes), false);
      return true;
    }
    void End() override { session_->Hand({}, true); }
    bool closed() const override { return session_->stream_closed_.load(); }

   private:
    const std::shared_ptr<Session> session_;
  };

  void Close() {
    stream_->Close([self = shared_from_this()] {});
  }

  const std::unique_ptr<ByteStream> stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  const std::shared_ptr<HttpServerShared> shared_;
  bool keep_alive_ = true;
  bool served_ = false;  // answered a request: idle waits use the keep-alive timeout
  unsigned version_ = 11;
  // A whole reply being written: its head (AppendResponseHead) and its body.
  std::string head_;
  std::string body_;
  // A streamed reply's state: chunks waiting, on the connection's thread; bytes sent and not yet
  // written, and whether it ended, from any thread.
  std::deque<std::string> out_;
  bool chunked_ = true;
  bool writing_ = false;
  bool ending_ = false;
  std::atomic<std::size_t> backlog_{0};
  std::atomic<bool> stream_closed_{false};
  // Pieces handed from any thread and not yet taken onto out_ (Hand, TakeHanded).
  std::mutex handed_mutex_;
  std::deque<std::pair<std::string, bool>> handed_;
  bool take_posted_ = false;
};

// How long to wait before accepting again after accept failed (EMFILE, ENFILE,
// ENOBUFS): the failing connection stays in the backlog, so retrying at once spins.
constexpr auto kFirstAcceptBackoff = std::chrono::milliseconds(10);
constexpr auto kLastAcceptBackoff = std::chrono::milliseconds(1000);

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Impl(asio::io_context& io_context, std::function<asio::io_context&()> session_context_of,
       Options opts, Handler h, Observer* observer)
      : io(io_context),
        session_context(std::move(session_context_of)),
        shared(std::make_shared<HttpServerShared>(std::move(opts), std::move(h), observer)),
        acceptor(io),
        retry_accept(io),
        over_limit_reply(OverLimitReply(shared->options.max_connections)) {}

  void Accept() {
    acceptor.async_accept(
        session_context().get_executor(),
        [self = shared_from_this()](beast::error_code ec, Socket socket) {
          if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
          if (ec) return self->BackOff(ec);
          self->accept_backoff = kFirstAcceptBackoff;
          socket.set_option(tcp::no_delay(true), ec);
          if (self->shared->open.load() >= self->shared->options.max_connections) {
            self->Refuse(std::move(socket));
          } else {
            self->StartSession(std::move(socket));
          }
          self->Accept();
        });
  }

  void BackOff(beast::error_code ec) {
    if (auto* observer = shared->observer.load()) observer->OnConnectionDropped("accept_error");
    if (const auto held_back = accept_log.Admit("accept", std::chrono::steady_clock::now())) {
      spdlog::warn("accept failed: {}; accepting again in {} ms{}", ec.message(),
                   accept_backoff.count(), HeldBackNote(*held_back));
    }
    retry_accept.expires_after(accept_backoff);
    accept_backoff = std::min(accept_backoff * 2, kLastAcceptBackoff);
    retry_accept.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
      if (!wait_ec && self->acceptor.is_open()) self->Accept();
    });
  }

  // Past the connection cap: a short 503 on plain HTTP (a TLS client would need a
  // handshake first, which is what the cap saves), then close.
  void Refuse(Socket socket) {
    if (auto* observer = shared->observer.load()) observer->OnConnectionDropped("limit");
    if (shared->options.tls) return;  // closed as `socket` goes
    auto owned = std::make_shared<Socket>(std::move(socket));
    asio::async_write(*owned, asio::buffer(over_limit_reply),
                      [owned](beast::error_code, std::size_t) {
                        beast::error_code ignored;
                        owned->shutdown(tcp::socket::shutdown_both, ignored);
                      });
  }

  static std::string OverLimitReply(std::size_t max_connections) {
    const std::string body =
        RenderError(ErrorCode::kOverloaded,
                    fmt::format("The server holds its limit of {} open connections; retry shortly.",
                                max_connections));
    return fmt::format(
        "HTTP/1.1 {} Service Unavailable\r\nServer: batchq\r\nContent-Type: application/json\r\n"
        "Retry-After: 1\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{}",
        HttpStatus(ErrorCode::kOverloaded), body.size(), body);
  }

  void StartSession(Socket socket) {
    std::make_shared<Session>(shared,
                              ByteStream::Accepted(std::move(socket), shared->options.tls.get()))
        ->Start();
  }

  asio::io_context& io;  // the acceptor's
  // Where the next connection's handlers run.
  const std::function<asio::io_context&()> session_context;
  const std::shared_ptr<HttpServerShared> shared;
  tcp::acceptor acceptor;
  // The accept loop is one chain of handlers, so these are touched by one at a time.
  asio::steady_timer retry_accept;
  std::chrono::milliseconds accept_backoff = kFirstAcceptBackoff;
  LogThrottle accept_log{std::chrono::seconds(1)};
  const std::string over_limit_reply;
};

HttpServer::HttpServer(asio::io_context& io, Options options, Handler handler, Observer* observer)
    : HttpServer(
          io, [&io]() -> asio::io_context& { return io; }, std::move(options), std::move(handler),
          observer) {}

HttpServer::HttpServer(IoThreads& threads, Options options, Handler handler, Observer* observer)
    : HttpServer(
          threads.First(), [&threads]() -> asio::io_context& { return threads.Next(); },
          std::move(options), std::move(handler), observer) {}

HttpServer::HttpServer(asio::io_context& io, std::function<asio::io_context&()> session_context,
                       Options options, Handler handler, Observer* observer)
    : impl_(std::make_shared<Impl>(io, std::move(session_context), std::move(options),
                                   std::move(handler), observer)) {
  beast::error_code ec;
  const auto address = asio::ip::make_address(impl_->shared->options.address, ec);
  if (ec)
    throw std::runtime_error(
        fmt::format("bad listen address '{}'", impl_->shared->options.address));
  const tcp::endpoint endpoint(address, impl_->shared->options.port);
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(endpoint, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error(fmt::format("cannot listen on {}:{}: {}",
                                         impl_->shared->options.address,
                                         impl_->shared->options.port, ec.message()));
  }
  impl_->Accept();
}

HttpServer::~HttpServer() {
  impl_->shared->observer.store(nullptr);
  Stop();
}

std::shared_ptr<asio::ssl::context> MakeServerTlsContext(const std::string& cert_file,
                                                         const std::string& key_file) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
  beast::error_code ec;
  context->use_certificate_chain_file(cert_file, ec);
  if (ec) {
    throw std::runtime_error(
        fmt::format("cannot use TLS certificate '{}': {}", cert_file, ec.message()));
  }
  context->use_private_key_file(key_file, asio::ssl::context::pem, ec);
  if (ec) {
    throw std::runtime_error(fmt::format("cannot use TLS key '{}': {}", key_file, ec.message()));
  }
  return context;
}

std::size_t HttpServer::active() const { return impl_->shared->active.load(); }

std::size_t HttpServer::connections() const { return impl_->shared->open.load(); }

std::uint16_t HttpServer::port() const { return impl_->acceptor.local_endpoint().port(); }

void HttpServer::Stop() {
  asio::post(impl_->io, [impl = impl_] {
    beast::error_code ec;
    impl->acceptor.close(ec);
    impl->retry_accept.cancel();
  });
}

}  // namespace batchq
