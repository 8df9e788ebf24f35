// The HTTP server's streamed replies on a real socket: pieces go out as chunks in the
// order sent, and nothing follows the body's last chunk, even a piece sent after End();
// a client that speaks or goes while a piece is being written ends the stream cleanly.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include "common/http_server.h"
#include "common/io_threads.h"

namespace batchq::test {
namespace {

// A socket connected to 127.0.0.1:`port` that has sent `request` (reads time out after
// 10 s), or -1.
int SendRequest(std::uint16_t port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      send(fd, request.data(), request.size(), MSG_NOSIGNAL) < 0) {
    close(fd);
    return -1;
  }
  timeval limit{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
  return fd;
}

// Sends `request` to 127.0.0.1:`port` and reads until the server closes.
std::string Exchange(std::uint16_t port, const std::string& request) {
  std::string answer;
  const int fd = SendRequest(port, request);
  if (fd < 0) return answer;
  char buffer[4096];
  for (ssize_t n; (n = recv(fd, buffer, sizeof(buffer), 0)) > 0;) answer.append(buffer, n);
  close(fd);
  return answer;
}

TEST(HttpStreamTest, PiecesGoOutAsChunksAndNothingFollowsTheLastOne) {
  boost::asio::io_context io;
  HttpServer server(io, HttpServer::Options{.port = 0}, [](HttpRequestIn, Respond respond) {
    HttpReply reply{200, {}, "text/event-stream", {}};
    reply.stream = [](std::shared_ptr<ReplyStream> stream) {
      EXPECT_TRUE(stream->Send("first\n"));
      EXPECT_TRUE(stream->Send("second\n"));
      stream->End();
      stream->Send("after the end\n");  // e.g. a heartbeat racing the end
    };
    respond(std::move(reply));
  });
  std::thread runner([&io] { io.run(); });
  const std::string answer = Exchange(server.port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  io.stop();
  runner.join();
  const auto body = answer.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos) << answer;
  EXPECT_NE(answer.find("Transfer-Encoding: chunked"), std::string::npos) << answer;
  EXPECT_EQ(answer.substr(body + 4), "6\r\nfirst\n\r\n7\r\nsecond\n\r\n0\r\n\r\n");
}

TEST(HttpStreamTest, PiecesSentFromSeveralThreadsGoOutInTheOrderSent) {
  // As the gateway runs it: one thread per context (IoThreads), whose own posts wait in
  // a queue of its own until its handler returns.
  IoThreads threads(1);
  HttpServer server(threads, HttpServer::Options{.port = 0}, [](HttpRequestIn, Respond respond) {
    HttpReply reply{200, {}, "text/event-stream", {}};
    reply.stream = [](std::shared_ptr<ReplyStream> stream) {
      // On the connection's thread, as an event stream sends its first line; another
      // thread (a job's read) then sends the next before this handler returns.
      EXPECT_TRUE(stream->Send("first\n"));
      std::thread other([stream] {
        EXPECT_TRUE(stream->Send("second\n"));
        stream->End();
      });
      other.join();
    };
    respond(std::move(reply));
  });
  std::thread runner([&threads] { threads.Run(); });
  const std::string answer = Exchange(server.port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  threads.Stop();
  runner.join();
  const auto body = answer.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos) << answer;
  EXPECT_EQ(answer.substr(body + 4), "6\r\nfirst\n\r\n7\r\nsecond\n\r\n0\r\n\r\n");
}

// A client that sends a byte in the middle of a piece it does not read (so the piece's
// write is still in flight), then reads what is left until the server closes.
std::string InterruptMidPiece(std::uint16_t port) {
  std::string answer;
  const int fd = SendRequest(port, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
  if (fd < 0) return answer;
  char buffer[65536];
  while (answer.find("\r\n\r\n") == std::string::npos) {
    const ssize_t n = recv(fd, buffer, 1024, 0);
    if (n <= 0) break;
    answer.append(buffer, n);
  }
  send(fd, "x", 1, MSG_NOSIGNAL);  // a streaming client that speaks ends its stream
  for (ssize_t n; (n = recv(fd, buffer, sizeof(buffer), 0)) > 0;) answer.append(buffer, n);
  close(fd);
  return answer;
}

TEST(HttpStreamTest, AClientThatSpeaksWhileAPieceIsBeingWrittenEndsTheStreamAndTheServerGoesOn) {
  boost::asio::io_context io;
  // Larger than loopback's socket buffers, so that its write waits on the client.
  const std::string piece(64u << 20, 'x');
  HttpServer server(io, HttpServer::Options{.port = 0},
                    [&piece](HttpRequestIn request, Respond respond) {
                      if (request.path != "/big")
                        return respond(HttpReply{200, "ok", "text/plain", {}});
                      HttpReply reply{200, {}, "text/event-stream", {}};
                      reply.stream = [&piece](std::shared_ptr<ReplyStream> stream) {
                        EXPECT_TRUE(stream->Send(piece));
                        stream->Send("more\n");  // queued behind it
                      };
                      respond(std::move(reply));
                    });
  std::thread runner([&io] { io.run(); });
  const std::string cut = InterruptMidPiece(server.port());
  const std::string after =
      Exchange(server.port(), "GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  io.stop();
  runner.join();
  EXPECT_NE(cut.find("200 OK"), std::string::npos) << cut.substr(0, 200);
  EXPECT_LT(cut.size(), piece.size()) << "the piece was cut off";
  EXPECT_EQ(cut.find("more"), std::string::npos) << "nothing went out after the client spoke";
  EXPECT_NE(after.find("\r\n\r\nok"), std::string::npos) << "the server still answers: " << after;
}

TEST(HttpServerThreadsTest, ConnectionsSpreadOverTheIoThreadsEachOnOneThread) {
  IoThreads threads(2);
  std::mutex mutex;
  std::map<std::string, std::set<std::thread::id>> threads_of;  // by connection's path
  HttpServer server(threads, HttpServer::Options{.port = 0},
                    [&](HttpRequestIn request, Respond respond) {
                      {
                        std::lock_guard lock(mutex);
                        threads_of[request.path].insert(std::this_thread::get_id());
                      }
                      respond(HttpReply{200, "ok", "text/plain", {}});
                    });
  std::thread runner([&threads] { threads.Run(); });
  // Two requests on each of two kept-alive connections, then the server closes each.
  for (const char* path : {"/a", "/b"}) {
    const std::string request = fmt::format("GET {} HTTP/1.1\r\nHost: x\r\n\r\n", path);
    const int fd = SendRequest(server.port(), request + request.substr(0, request.size() - 2) +
                                                  "Connection: close\r\n\r\n");
    ASSERT_GE(fd, 0);
    std::string answer;
    char buffer[4096];
    for (ssize_t n; (n = recv(fd, buffer, sizeof(buffer), 0)) > 0;) answer.append(buffer, n);
    close(fd);
    EXPECT_EQ(std::count(answer.begin(), answer.end(), 'k'), 2) << answer;  // two "ok"s
  }
  threads.Stop();
  runner.join();
  ASSERT_EQ(threads_of.size(), 2u);
  EXPECT_EQ(threads_of["/a"].size(), 1u) << "a connection stays on its thread";
  EXPECT_EQ(threads_of["/b"].size(), 1u);
  EXPECT_NE(*threads_of["/a"].begin(), *threads_of["/b"].begin())
      << "the next connection goes to the next thread";
}

}  // namespace
}  // namespace batchq::test
