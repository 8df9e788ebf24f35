#include "common/byte_stream.h"

#include <utility>

#include <openssl/ssl.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace batchq {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using boost::system::error_code;
using Tcp = beast::basic_stream<asio::ip::tcp, ByteStream::executor_type>;
using Tls = beast::ssl_stream<Tcp>;

// The operations both kinds share, over the TCP stream `Lowest()` gives; `Stream` is what
// reads and writes go through (TCP itself, or TLS over it).
template <class Self, class Stream>
class StreamOf : public ByteStream {
 protected:
  using ByteStream::ByteStream;

  Tcp& Lowest() { return beast::get_lowest_layer(static_cast<Self*>(this)->stream()); }
  Stream& Upper() { return static_cast<Self*>(this)->stream(); }

  void ExpiresAfter(std::chrono::steady_clock::duration timeout) override {
    Lowest().expires_after(timeout);
  }
  void Connect(const Endpoints& endpoints, Done done) override {
    Lowest().async_connect(endpoints, [this, done = std::move(done)](
                                          error_code ec, const asio::ip::tcp::endpoint&) mutable {
      if (!ec) NoDelay();
      done(ec);
    });
  }
  void NoDelay() {
    error_code ignored;
    Lowest().socket().set_option(asio::ip::tcp::no_delay(true), ignored);
  }

  void ReadSome(asio::mutable_buffer buffer, IoDone done) override {
    Upper().async_read_some(buffer, std::move(done));
  }
  void WriteSome(const WriteBuffers& pieces, IoDone done) override {
    Upper().async_write_some(pieces, std::move(done));
  }
};

class PlainStream final : public StreamOf<PlainStream, Tcp> {
 public:
  template <class Arg>
  explicit PlainStream(Arg&& arg, executor_type executor)
      : StreamOf(std::move(executor)), stream_(std::forward<Arg>(arg)) {}
  Tcp& stream() { return stream_; }

 private:
  bool tls() const override { return false; }
  void Handshake(Done done) override {
    asio::post(get_executor(), [done = std::move(done)]() mutable { done(error_code()); });
  }
  void Close(std::move_only_function<void()> done) override {
    error_code ignored;
    stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    done();
  }

  Tcp stream_;
};

class TlsStream final : public StreamOf<TlsStream, Tls> {
 public:
  TlsStream(Tcp tcp, asio::ssl::context& context, asio::ssl::stream_base::handshake_type role)
      : StreamOf(tcp.get_executor()), stream_(std::move(tcp), context), role_(role) {}
  Tls& stream() { return stream_; }

  // The name SNI carries, and the one the server's certificate must carry.
  void ExpectServer(const std::string& host) {
    SSL_set_tlsext_host_name(stream_.native_handle(), host.c_str());
    stream_.set_verify_callback(asio::ssl::host_name_verification(host));
  }

 private:
  bool tls() const override { return true; }
  void Handshake(Done done) override { stream_.async_handshake(role_, std::move(done)); }
  void Close(std::move_only_function<void()> done) override {
    Lowest().expires_after(std::chrono::seconds(5));
    stream_.async_shutdown([this, done = std::move(done)](error_code) mutable {
      error_code ignored;
      Lowest().socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
      done();
    });
  }

  Tls stream_;
  const asio::ssl::stream_base::handshake_type role_;
};

}  // namespace

std::unique_ptr<ByteStream> ByteStream::Accepted(Socket socket, asio::ssl::context* tls) {
  auto executor = socket.get_executor();
  if (!tls) return std::make_unique<PlainStream>(std::move(socket), executor);
  return std::make_unique<TlsStream>(Tcp(std::move(socket)), *tls, asio::ssl::stream_base::server);
}

std::unique_ptr<ByteStream> ByteStream::Outgoing(asio::io_context& io, asio::ssl::context* tls,
                                                 const std::string& host) {
  if (!tls) return std::make_unique<PlainStream>(io.get_executor(), io.get_executor());
  auto stream =
      std::make_unique<TlsStream>(Tcp(io.get_executor()), *tls, asio::ssl::stream_base::client);
  stream->ExpectServer(host);
  return stream;
}

}  // namespace batchq
