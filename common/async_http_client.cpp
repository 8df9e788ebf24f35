#include "common/async_http_client.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "common/byte_stream.h"

namespace batchq {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

// The largest response body a client reads (a binary result, a page of jobs).
constexpr std::uint64_t kMaxResponseBodyBytes = 256u << 20;

// `request` as a keep-alive HTTP/1.1 message to `host`, with "Authorization: Bearer
// <bearer_token>" when the token is not empty.
http::request<http::string_body> ToBeastRequest(const HttpRequest& request, std::string_view host,
                                                std::string_view bearer_token) {
  http::request<http::string_body> out;
  out.method_string(request.method);
  out.target(request.target);
  out.version(11);
  out.set(http::field::host, beast::string_view(host.data(), host.size()));
  out.keep_alive(true);
  if (!bearer_token.empty()) {
    out.set(http::field::authorization, "Bearer " + std::string(bearer_token));
  }
  for (const auto& [key, value] : request.headers) out.set(key, value);
  if (!request.body.empty() || request.method == "POST") out.body() = request.body;
  out.prepare_payload();
  return out;
}

// What a read response holds; its body is moved out.
HttpResponse FromBeastResponse(http::response<http::string_body>& res) {
  HttpResponse out;
  out.status = static_cast<int>(res.result_int());
  out.body = std::move(res.body());
  for (const auto& field : res) {
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  return out;
}

}  // namespace

// The connection and the one exchange in progress; every step's handler holds it.
struct AsyncHttpClient::Exchange : std::enable_shared_from_this<Exchange> {
  Exchange(asio::io_context& io, HttpOrigin origin, HttpClientOptions options)
      : io(io), origin(std::move(origin)), options(std::move(options)), resolver(io) {}

  asio::io_context& io;
  const HttpOrigin origin;
  const HttpClientOptions options;
  std::optional<asio::ssl::context> tls_context;  // set for https://
  asio::ip::tcp::resolver resolver;
  std::unique_ptr<ByteStream> stream;
  beast::flat_buffer buffer;
  http::request<http::string_body> request;
  std::optional<http::response_parser<http::string_body>> parser;
  Done done;
  bool connected = false;
  bool reused = false;  // this exchange began on a kept-alive connection

  void Start(HttpRequest wanted, Done on_done) {
    request = ToBeastRequest(wanted, origin.host, options.bearer_token);
    done = std::move(on_done);
    reused = connected;
    if (connected) {
      Write();
    } else {
      Open();
    }
  }

  void Open() {
    connected = false;
    stream = ByteStream::Outgoing(io, tls_context ? &*tls_context : nullptr, origin.host);
    resolver.async_resolve(
        origin.host, origin.port,
        [self = shared_from_this()](beast::error_code ec,
                                    asio::ip::tcp::resolver::results_type endpoints) {
          if (ec) {
            return self->Finish(
                Fail(ErrorCode::kConnectFailed,
                     fmt::format("Cannot resolve {}: {}.", self->origin.host, ec.message())));
          }
          self->Connect(endpoints);
        });
  }

  void Connect(const asio::ip::tcp::resolver::results_type& endpoints) {
    stream->ExpiresAfter(options.timeout);
    stream->Connect(endpoints, [self = shared_from_this()](beast::error_code ec) {
      if (ec) {
        return self->Finish(Fail(ErrorCode::kConnectFailed,
                                 fmt::format("Cannot connect to {}:{}: {}.", self->origin.host,
                                             self->origin.port, ec.message())));
      }
      if (!self->stream->tls()) return self->Connected();
      self->stream->Handshake([self](beast::error_code ec) {
        if (ec) {
          return self->Finish(Fail(ErrorCode::kConnectFailed,
                                   fmt::format("TLS with {}:{} failed: {}.", self->origin.host,
                                               self->origin.port, ec.message())));
        }
        self->Connected();
      });
    });
  }

  void Connected() {
    connected = true;
    buffer.clear();
    Write();
  }

  void Write() {
    stream->ExpiresAfter(options.timeout);
    http::async_write(*stream, request,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return self->Broken("Sending the request failed", ec, false);
                        self->Read();
                      });
  }

  void Read() {
    parser.emplace();
    parser->body_limit(kMaxResponseBodyBytes);
    http::async_read(*stream, buffer, *parser,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return self->Broken("Reading the response failed", ec, true);
                       self->Answered();
                     });
  }

  void Answered() {
    if (!parser->get().keep_alive()) connected = false;
    Finish(FromBeastResponse(parser->get()));
  }

  // A kept-alive connection the server closed in the meantime gets one fresh try, when
  // sending again cannot do the request twice (RFC 9110, 9.2.2): the request never left
  // whole (a failed send: a server acts on whole requests only), or it is idempotent by
  // its method or by its Idempotency-Key. A POST without a key that was sent could
  // already have submitted its jobs; so could any request that timed out.
  void Broken(std::string_view what, beast::error_code ec, bool sent) {
    connected = false;
    if (reused && ec != beast::error::timeout && (!sent || Replayable())) {
      reused = false;
      return Open();
    }
    Finish(Fail(ErrorCode::kIoError, fmt::format("{}: {}.", what, ec.message())));
  }

  bool Replayable() const {
    switch (request.method()) {
      case http::verb::get:
      case http::verb::head:
      case http::verb::put:
      case http::verb::delete_:
      case http::verb::options:
        return true;
      default:
        return request.find("Idempotency-Key") != request.end();
    }
  }

  void Finish(Result<HttpResponse> result) {
    Done call = std::move(done);
    done = nullptr;
    call(std::move(result));
  }
};

AsyncHttpClient::AsyncHttpClient(std::shared_ptr<Exchange> exchange)
    : exchange_(std::move(exchange)) {}
AsyncHttpClient::~AsyncHttpClient() = default;

Result<std::shared_ptr<AsyncHttpClient>> AsyncHttpClient::Create(asio::io_context& io,
                                                                 std::string_view base_url,
                                                                 HttpClientOptions options) {
  auto origin = ParseHttpOrigin(base_url);
  if (!origin) return std::unexpected(origin.error());
  const bool https = origin->https;
  auto exchange = std::make_shared<Exchange>(io, std::move(*origin), std::move(options));
  if (https) {
    exchange->tls_context.emplace(asio::ssl::context::tls_client);
    if (auto trusted = TrustServersOf(*exchange->tls_context, exchange->options.ca_file);
        !trusted) {
      return std::unexpected(trusted.error());
    }
  }
  return std::shared_ptr<AsyncHttpClient>(new AsyncHttpClient(std::move(exchange)));
}

void AsyncHttpClient::Send(HttpRequest request, Done done) {
  exchange_->Start(std::move(request), std::move(done));
}

}  // namespace batchq
