#include "common/http_server.h"

#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "common/json_writer.h"

namespace batchq {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kIdleTimeout = std::chrono::seconds(75);

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// One connection: plain TCP (Stream = beast::tcp_stream) or TLS (TlsStream), which
// first shakes hands; everything after that is the same code.
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  template <class... StreamArgs>
  Session(std::shared_ptr<const HttpServer::Handler> handler, std::size_t max_body,
          std::shared_ptr<std::atomic<std::size_t>> active, StreamArgs&&... stream_args)
      : stream_(std::forward<StreamArgs>(stream_args)...),
        handler_(std::move(handler)),
        max_body_(max_body),
        active_(std::move(active)) {}

  void Start() {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (std::is_same_v<Stream, TlsStream>) {
        beast::get_lowest_layer(self->stream_).expires_after(kIdleTimeout);
        self->stream_.async_handshake(asio::ssl::stream_base::server, [self](beast::error_code ec) {
          if (ec) return;  // not TLS, or refused: drop it
          self->Read();
        });
      } else {
        self->Read();
      }
    });
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->body_limit(max_body_);
    beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, std::size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
        ec == asio::ssl::error::stream_truncated) {
      return Close();
    }
    if (ec == http::error::body_limit) {
      keep_alive_ = false;
      return Write(
          HttpReply{HttpStatus(ErrorCode::kBodyTooLarge),
                    RenderError(ErrorCode::kBodyTooLarge,
                                fmt::format("The body exceeds the limit of {} bytes.", max_body_)),
                    "application/json",
                    {}});
    }
    if (ec) {
      keep_alive_ = false;
      return Write(HttpReply{HttpStatus(ErrorCode::kBadHttp),
                             RenderError(ErrorCode::kBadHttp,
                                         fmt::format("Malformed HTTP request: {}.", ec.message())),
                             "application/json",
                             {}});
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
    in.authorization = std::string(req[http::field::authorization]);
    in.body = std::move(req.body());
    auto self = this->shared_from_this();
    auto answered = std::make_shared<std::atomic<bool>>(false);
    ++*active_;
    (*handler_)(std::move(in), [self, answered](HttpReply reply) {
      // One request, one response: a second answer would corrupt the connection.
      if (answered->exchange(true)) {
        spdlog::error("a handler answered one request twice; the second answer is dropped");
        return;
      }
      --*self->active_;
      asio::dispatch(self->stream_.get_executor(),
                     [self, reply = std::move(reply)]() mutable { self->Write(std::move(reply)); });
    });
  }

  void Write(HttpReply reply) {
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(reply.status), version_);
    res->set(http::field::server, "batchq");
    res->set(http::field::content_type, reply.content_type);
    for (auto& [name, value] : reply.headers) res->set(name, value);
    res->keep_alive(keep_alive_);
    res->body() = std::move(reply.body);
    res->prepare_payload();
    beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
    http::async_write(stream_, *res,
                      [self = this->shared_from_this(), res](beast::error_code ec, std::size_t) {
                        if (ec || !self->keep_alive_) return self->Close();
                        self->Read();
                      });
  }

  void Close() {
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        beast::error_code ec;
        beast::get_lowest_layer(self->stream_).socket().shutdown(tcp::socket::shutdown_send, ec);
      });
    } else {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  const std::shared_ptr<const HttpServer::Handler> handler_;
  const std::size_t max_body_;
  const std::shared_ptr<std::atomic<std::size_t>> active_;
  bool keep_alive_ = true;
  unsigned version_ = 11;
};

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Impl(asio::io_context& io_context, Options opts, Handler h)
      : io(io_context),
        options(std::move(opts)),
        handler(std::make_shared<const Handler>(std::move(h))),
        acceptor(io) {}

  void Accept() {
    acceptor.async_accept(asio::make_strand(io),
                          [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
                            if (ec == asio::error::operation_aborted || !self->acceptor.is_open())
                              return;
                            if (!ec) {
                              socket.set_option(tcp::no_delay(true), ec);
                              self->StartSession(std::move(socket));
                            }
                            self->Accept();
                          });
  }

  void StartSession(tcp::socket socket) {
    if (options.tls) {
      std::make_shared<Session<TlsStream>>(handler, options.max_body_bytes, active,
                                           std::move(socket), *options.tls)
          ->Start();
    } else {
      std::make_shared<Session<beast::tcp_stream>>(handler, options.max_body_bytes, active,
                                                   std::move(socket))
          ->Start();
    }
  }

  asio::io_context& io;
  const Options options;
  const std::shared_ptr<const Handler> handler;
  tcp::acceptor acceptor;
  std::shared_ptr<std::atomic<std::size_t>> active = std::make_shared<std::atomic<std::size_t>>(0);
};

HttpServer::HttpServer(asio::io_context& io, Options options, Handler handler)
    : impl_(std::make_shared<Impl>(io, std::move(options), std::move(handler))) {
  beast::error_code ec;
  const auto address = asio::ip::make_address(impl_->options.address, ec);
  if (ec) throw std::runtime_error(fmt::format("bad listen address '{}'", impl_->options.address));
  const tcp::endpoint endpoint(address, impl_->options.port);
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(endpoint, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error(fmt::format("cannot listen on {}:{}: {}", impl_->options.address,
                                         impl_->options.port, ec.message()));
  }
  impl_->Accept();
}

HttpServer::~HttpServer() { Stop(); }

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

std::size_t HttpServer::active() const { return impl_->active->load(); }

std::uint16_t HttpServer::port() const { return impl_->acceptor.local_endpoint().port(); }

void HttpServer::Stop() {
  asio::post(impl_->io, [impl = impl_] {
    beast::error_code ec;
    impl->acceptor.close(ec);
  });
}

}  // namespace batchq
