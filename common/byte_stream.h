#pragma once
// One connection's bytes, over plain TCP or TLS, as one type. Beast's HTTP reads and
// writes are composed operations, compiled once per stream type they run on, and they
// were most of the compile of every file that speaks HTTP (docs/BENCHMARKS.md, issue 15
// thirty-ninth part). Written against ByteStream they are compiled once; TCP's and
// TLS's own operations are compiled once, in byte_stream.cpp. The price is a virtual
// call per read or write, and for an asynchronous one an allocation for its handler.
//
// A ByteStream is an AsyncReadStream and AsyncWriteStream for Asio and Beast, and has no
// synchronous reads or writes: Beast's streams ignore their timeouts in those
// (HttpClient runs the asynchronous ones to its end instead). Timeouts are those of the
// beast::basic_stream underneath: ExpiresAfter bounds the operations started after it.
// Not thread-safe, like the streams it wraps: at most one read and one write in
// progress, started on the executor's thread, where their handlers also run.

#include <array>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace batchq {

class ByteStream {
 public:
  using executor_type = boost::asio::io_context::executor_type;
  using Socket = boost::asio::ip::tcp::socket::rebind_executor<executor_type>::other;
  using Endpoints = boost::asio::ip::tcp::resolver::results_type;
  using IoDone = std::move_only_function<void(boost::system::error_code, std::size_t)>;
  using Done = std::move_only_function<void(boost::system::error_code)>;

  // A write hands the stream at most this many of its buffers at once; a write_some may
  // write less than it is given, and the composed writes send the rest after.
  static constexpr std::size_t kMaxWriteBuffers = 16;
  struct WriteBuffers {
    std::array<boost::asio::const_buffer, kMaxWriteBuffers> items;
    std::size_t count = 0;
    const boost::asio::const_buffer* begin() const { return items.data(); }
    const boost::asio::const_buffer* end() const { return items.data() + count; }
  };

  // A connection a server accepted; with `tls` (which must outlive the stream), over TLS
  // once Handshake has run.
  static std::unique_ptr<ByteStream> Accepted(Socket socket, boost::asio::ssl::context* tls);
  // A connection to make with Connect. With `tls`, over TLS to `host`: the
  // name goes in the handshake's SNI, and the server's certificate must carry it.
  static std::unique_ptr<ByteStream> Outgoing(boost::asio::io_context& io,
                                              boost::asio::ssl::context* tls,
                                              const std::string& host);

  virtual ~ByteStream() = default;
  ByteStream(const ByteStream&) = delete;
  ByteStream& operator=(const ByteStream&) = delete;

  executor_type get_executor() const { return executor_; }
  virtual bool tls() const = 0;

  // Bounds the asynchronous operations that start from now on, together.
  virtual void ExpiresAfter(std::chrono::steady_clock::duration timeout) = 0;

  // Connects the TCP socket (to the first endpoint that answers) and turns Nagle off.
  virtual void Connect(const Endpoints& endpoints, Done done) = 0;
  // TLS's handshake; on plain TCP it succeeds at once (`done` is posted).
  virtual void Handshake(Done done) = 0;
  // Ends the connection's sending side; over TLS after its close_notify, waited for at
  // most 5 s. `done` runs when that ends (at once on plain TCP): what it holds lives
  // until then.
  virtual void Close(std::move_only_function<void()> done) = 0;

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, boost::asio::mutable_buffer buffer) {
          ReadSome(buffer, IoDone(std::move(handler)));
        },
        token, FirstOf(buffers));
  }
  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const WriteBuffers& pieces) {
          WriteSome(pieces, IoDone(std::move(handler)));
        },
        token, PiecesOf(buffers));
  }

 protected:
  explicit ByteStream(executor_type executor) : executor_(std::move(executor)) {}

 private:
  // A read fills one buffer at a time, the first that is not empty: a read_some may
  // read less than it is given.
  template <class MutableBuffers>
  static boost::asio::mutable_buffer FirstOf(const MutableBuffers& buffers) {
    const auto end = boost::asio::buffer_sequence_end(buffers);
    for (auto it = boost::asio::buffer_sequence_begin(buffers); it != end; ++it) {
      boost::asio::mutable_buffer buffer(*it);
      if (buffer.size() > 0) return buffer;
    }
    return {};
  }
  template <class ConstBuffers>
  static WriteBuffers PiecesOf(const ConstBuffers& buffers) {
    WriteBuffers pieces;
    const auto end = boost::asio::buffer_sequence_end(buffers);
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != end && pieces.count < kMaxWriteBuffers; ++it) {
      boost::asio::const_buffer buffer(*it);
      if (buffer.size() > 0) pieces.items[pieces.count++] = buffer;
    }
    return pieces;
  }

  virtual void ReadSome(boost::asio::mutable_buffer buffer, IoDone done) = 0;
  virtual void WriteSome(const WriteBuffers& pieces, IoDone done) = 0;

  const executor_type executor_;
};

}  // namespace batchq
