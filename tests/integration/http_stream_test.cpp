// The HTTP server's streamed replies on a real socket: pieces go out as chunks in the
// order sent, and nothing follows the body's last chunk, even a piece sent after End().
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include "common/http_server.h"

namespace batchq::test {
namespace {

// Sends `request` to 127.0.0.1:`port` and reads until the server closes.
std::string Exchange(std::uint16_t port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  std::string answer;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      send(fd, request.data(), request.size(), MSG_NOSIGNAL) >= 0) {
    timeval limit{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
    char buffer[4096];
    for (ssize_t n; (n = recv(fd, buffer, sizeof(buffer), 0)) > 0;) answer.append(buffer, n);
  }
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

}  // namespace
}  // namespace batchq::test
