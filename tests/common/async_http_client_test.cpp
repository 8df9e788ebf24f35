// AsyncHttpClient, and HttpClient which runs it, against real loopback TCP servers
// written here, so that the test decides when a connection closes or stays silent.
#include "common/async_http_client.h"

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

namespace batchq {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// Reads one request's head (the requests here have no body) and returns its target.
std::string ReadTarget(tcp::socket& socket, asio::streambuf& buffer) {
  boost::system::error_code ec;
  asio::read_until(socket, buffer, "\r\n\r\n", ec);
  if (ec) return {};
  std::istream in(&buffer);
  std::string method, target, line;
  in >> method >> target;
  while (std::getline(in, line) && line != "\r") {
  }
  return target;
}

void Answer(tcp::socket& socket, std::string_view body) {
  const std::string response =
      fmt::format("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{}", body.size(), body);
  boost::system::error_code ec;
  asio::write(socket, asio::buffer(response), ec);
}

// A server on a free loopback port whose connections `serve` runs, one thread each.
class TestServer {
 public:
  template <class Serve>
  TestServer(int connections, Serve serve)
      : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    thread_ = std::thread([this, connections, serve] {
      std::vector<std::thread> sessions;
      for (int i = 0; i < connections; ++i) {
        auto socket = std::make_shared<tcp::socket>(io_);
        boost::system::error_code ec;
        acceptor_.accept(*socket, ec);
        if (ec) break;
        ++accepted_;
        sessions.emplace_back([socket, serve, i] { serve(*socket, i); });
      }
      for (auto& session : sessions) session.join();
    });
  }
  // Wakes an accept still waiting for a connection the client never made (a failing
  // test), so that the test ends.
  ~TestServer() {
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    thread_.join();
  }

  std::string url() const {
    return fmt::format("http://127.0.0.1:{}", acceptor_.local_endpoint().port());
  }
  int accepted() const { return accepted_.load(); }

 private:
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

Result<HttpResponse> SendAndRun(asio::io_context& io, AsyncHttpClient& client,
                                HttpRequest request) {
  Result<HttpResponse> answer = Fail(ErrorCode::kIoError, "no answer");
  client.Send(std::move(request),
              [&](Result<HttpResponse> response) { answer = std::move(response); });
  io.restart();
  io.run();
  return answer;
}

Result<HttpResponse> SendAndRun(asio::io_context& io, AsyncHttpClient& client, std::string target) {
  return SendAndRun(io, client, HttpRequest{"GET", std::move(target), {}, {}});
}

// The server answers a first request, reads the second whole and closes the connection
// without an answer, as a server that fails while working on it would; a second
// connection is answered. `second` goes out on the kept-alive connection: how many
// connections the server took, and what the client got for it.
struct AfterAClose {
  int accepted;
  Result<HttpResponse> answer;
};
AfterAClose SendSecondToAServerThatCloses(HttpRequest second) {
  TestServer server(2, [](tcp::socket& socket, int connection) {
    asio::streambuf buffer;
    const std::string target = ReadTarget(socket, buffer);
    if (connection == 0 && target == "/first") {
      Answer(socket, target);
      ReadTarget(socket, buffer);
      socket.close();
      return;
    }
    Answer(socket, fmt::format("{} on connection {}", target, connection));
  });
  asio::io_context io;
  auto client = AsyncHttpClient::Create(io, server.url(), HttpClientOptions{});
  if (!client) return {0, std::unexpected(client.error())};
  auto first = SendAndRun(io, **client, "/first");
  if (!first) return {0, first};
  auto answer = SendAndRun(io, **client, std::move(second));
  return {server.accepted(), std::move(answer)};
}

// The server closes the first connection after one answer, as an idle timeout would:
// the next request finds it closed and goes out again on a new connection.
TEST(AsyncHttpClientTest, AKeptAliveConnectionTheServerClosedGetsOneFreshTry) {
  TestServer server(2, [](tcp::socket& socket, int connection) {
    asio::streambuf buffer;
    const std::string target = ReadTarget(socket, buffer);
    Answer(socket, fmt::format("{} on connection {}", target, connection));
    socket.close();
  });
  asio::io_context io;
  auto client = AsyncHttpClient::Create(io, server.url(), HttpClientOptions{});
  ASSERT_TRUE(client) << client.error().message;
  auto first = SendAndRun(io, **client, "/a");
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->body, "/a on connection 0");
  auto second = SendAndRun(io, **client, "/b");
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(second->body, "/b on connection 1");
  EXPECT_EQ(server.accepted(), 2);
}

// RFC 9110, 9.2.2: a POST that reached the server whole may have been done (its jobs
// submitted) before the connection closed, so it is not sent again; with an
// Idempotency-Key it is, since the server answers a repeat with what it did the first
// time. (A GET gets its fresh try in the test above.) The requests have no body, so the
// server reads each whole and its close is a clean end of stream.
TEST(AsyncHttpClientTest, APostThatReachedAServerThatClosedIsSentAgainOnlyWithAKey) {
  auto without_key = SendSecondToAServerThatCloses(HttpRequest{"POST", "/v1/jobs", {}, {}});
  ASSERT_FALSE(without_key.answer) << "answered: " << without_key.answer->body;
  EXPECT_EQ(without_key.answer.error().code, ErrorCode::kIoError);
  EXPECT_EQ(without_key.accepted, 1);

  auto with_key = SendSecondToAServerThatCloses(
      HttpRequest{"POST", "/v1/jobs", {}, {{"Idempotency-Key", "k1"}}});
  ASSERT_TRUE(with_key.answer) << with_key.answer.error().message;
  EXPECT_EQ(with_key.answer->body, "/v1/jobs on connection 1");
  EXPECT_EQ(with_key.accepted, 2);
}

// Eight clients on one thread, each sending its requests in turn on its own connection:
// every answer reaches the client that asked, in order, and no connection is opened twice.
TEST(AsyncHttpClientTest, ManyClientsShareOneThreadAndEachGetsItsOwnAnswers) {
  constexpr int kClients = 8, kRequests = 5;
  TestServer server(kClients, [](tcp::socket& socket, int) {
    asio::streambuf buffer;
    for (int r = 0; r < kRequests; ++r) {
      const std::string target = ReadTarget(socket, buffer);
      if (target.empty()) return;
      Answer(socket, target);
    }
  });
  asio::io_context io;
  std::vector<std::shared_ptr<AsyncHttpClient>> clients;
  std::vector<std::vector<std::string>> bodies(kClients);
  std::function<void(int, int)> send = [&](int c, int r) {
    if (r == kRequests) return;
    clients[c]->Send(HttpRequest{"GET", fmt::format("/client{}/request{}", c, r), {}, {}},
                     [&, c, r](Result<HttpResponse> response) {
                       bodies[c].push_back(response ? response->body : response.error().message);
                       send(c, r + 1);
                     });
  };
  for (int c = 0; c < kClients; ++c) {
    auto client = AsyncHttpClient::Create(io, server.url(), HttpClientOptions{});
    ASSERT_TRUE(client) << client.error().message;
    clients.push_back(std::move(*client));
  }
  for (int c = 0; c < kClients; ++c) send(c, 0);
  io.run();
  for (int c = 0; c < kClients; ++c) {
    std::vector<std::string> expected;
    for (int r = 0; r < kRequests; ++r)
      expected.push_back(fmt::format("/client{}/request{}", c, r));
    EXPECT_EQ(bodies[c], expected) << "client " << c;
  }
  EXPECT_EQ(server.accepted(), kClients);
}

TEST(AsyncHttpClientTest, NoServerIsAConnectFailureAndABadUrlIsRefusedAtOnce) {
  std::uint16_t port = 0;
  {
    asio::io_context probe;
    tcp::acceptor acceptor(probe, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = acceptor.local_endpoint().port();
  }  // closed: nothing listens there now
  asio::io_context io;
  auto client =
      AsyncHttpClient::Create(io, fmt::format("http://127.0.0.1:{}", port), HttpClientOptions{});
  ASSERT_TRUE(client) << client.error().message;
  auto answer = SendAndRun(io, **client, "/");
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().code, ErrorCode::kConnectFailed) << answer.error().message;

  auto bad = AsyncHttpClient::Create(io, "ftp://127.0.0.1:1", HttpClientOptions{});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidUrl);
}

// The server answers the first request and reads the second, then says nothing until
// the client hangs up. The client's timeout ends the wait (Beast's synchronous calls,
// which HttpClient used before, ignored it and waited for good), and the request is not
// sent again on a new connection: the server may be working on it, and a second POST
// would submit its jobs twice. A second connection would be answered.
TEST(HttpClientTest, AnAnswerThatNeverComesTimesOutAndTheRequestIsNotSentAgain) {
  TestServer server(2, [](tcp::socket& socket, int connection) {
    asio::streambuf buffer;
    if (connection > 0) {
      Answer(socket, ReadTarget(socket, buffer) + " sent again");
      return;
    }
    Answer(socket, ReadTarget(socket, buffer));
    ReadTarget(socket, buffer);
    std::array<char, 256> bytes;  // the body, then nothing until the client hangs up
    boost::system::error_code ec;
    while (!ec) socket.read_some(asio::buffer(bytes), ec);
  });
  auto client = HttpClient::Connect(server.url(), std::chrono::milliseconds(200));
  ASSERT_TRUE(client) << client.error().message;
  auto first = (*client)->Get("/first");
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->body, "/first");
  auto second = (*client)->PostJson("/second", "{}");
  ASSERT_FALSE(second) << "answered: " << second->body;
  EXPECT_EQ(second.error().code, ErrorCode::kIoError);
  EXPECT_NE(second.error().message.find("timeout"), std::string::npos) << second.error().message;
}

}  // namespace
}  // namespace batchq
