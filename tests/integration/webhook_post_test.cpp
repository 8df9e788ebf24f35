// One webhook try on a real socket: an allowed loopback receiver gets the body and the
// its status comes back; a redirect is not followed; a destination the
// allow-list does not name is refused before any connection.
#include <atomic>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "common/http_server.h"
#include "gateway/webhook_post.h"

namespace batchq::test {
namespace {

using namespace std::chrono_literals;

TEST(WebhookPostTest, AnAllowedReceiverGetsTheBodyAndARefusedOneNoConnection) {
  boost::asio::io_context io;
  std::atomic<int> requests{0};
  std::string seen_body, seen_path;
  HttpServer server(
      io, HttpServer::Options{.port = 0}, [&](HttpRequestIn request, Respond respond) {
        ++requests;
        seen_body = request.body;
        seen_path = request.path;
        if (request.path == "/moved") {
          return respond(HttpReply{302, {}, "text/plain", {{"Location", "http://10.0.0.1/"}}});
        }
        respond(HttpReply{503, "busy", "text/plain", {{"Retry-After", "7"}}});
      });
  std::thread runner([&io] { io.run(); });
  const auto allow = DestinationAllowList::Parse("127.0.0.1");
  ASSERT_TRUE(allow);
  auto url = ParseWebUrl("http://127.0.0.1:" + std::to_string(server.port()) + "/hook");
  ASSERT_TRUE(url);
  const auto answered =
      PostWebhook(*url, *allow, R"({"id":"j1"})", {{"Batchq-Signature", "t=1,v1=ab"}}, 5000ms);
  EXPECT_EQ(answered.outcome.status, 503) << answered.error;
  EXPECT_EQ(answered.outcome.retry_after, 7s);
  EXPECT_EQ(seen_body, R"({"id":"j1"})");
  EXPECT_EQ(seen_path, "/hook");

  auto moved = ParseWebUrl("http://127.0.0.1:" + std::to_string(server.port()) + "/moved");
  const auto redirected = PostWebhook(*moved, *allow, "{}", {}, 5000ms);
  EXPECT_EQ(redirected.outcome.status, 302) << "answered, not followed";

  const int before = requests.load();
  const auto none = DestinationAllowList::Parse("");
  const auto refused = PostWebhook(*url, *none, "{}", {}, 5000ms);
  EXPECT_TRUE(refused.outcome.destination_refused);
  EXPECT_FALSE(refused.outcome.status.has_value());
  EXPECT_NE(refused.error.find("127.0.0.1"), std::string::npos) << refused.error;
  EXPECT_EQ(requests.load(), before) << "no connection was made";
  io.stop();
  runner.join();
}

// An https:// destination gets TLS: a receiver that speaks plain HTTP fails the handshake,
// and the request is never sent in the clear.
TEST(WebhookPostTest, AnHttpsDestinationThatDoesNotSpeakTlsFailsInTheHandshake) {
  boost::asio::io_context io;
  std::atomic<int> requests{0};
  HttpServer server(io, HttpServer::Options{.port = 0}, [&](HttpRequestIn, Respond respond) {
    ++requests;
    respond(HttpReply{204, {}, "text/plain", {}});
  });
  std::thread runner([&io] { io.run(); });
  const auto allow = DestinationAllowList::Parse("127.0.0.1");
  auto url = ParseWebUrl("https://127.0.0.1:" + std::to_string(server.port()) + "/hook");
  ASSERT_TRUE(allow && url);
  const auto answer = PostWebhook(*url, *allow, R"({"id":"j1"})", {}, 5000ms);
  EXPECT_FALSE(answer.outcome.status.has_value()) << "no answer";
  EXPECT_NE(answer.error.find("TLS with 127.0.0.1 failed"), std::string::npos) << answer.error;
  EXPECT_EQ(requests.load(), 0) << "the body was not sent without TLS";
  io.stop();
  runner.join();
}

// A receiver that takes the connection and never answers (a tarpit) must not hold the
// sender past its time limit: the synchronous calls of a Beast stream ignore its expiry.
TEST(WebhookPostTest, AReceiverThatNeverAnswersIsGivenUpAtTheTimeLimit) {
  boost::asio::io_context io;
  // Listening but never accepting: the kernel completes the connection, nobody reads.
  boost::asio::ip::tcp::acceptor tarpit(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  const auto allow = DestinationAllowList::Parse("127.0.0.1");
  auto url =
      ParseWebUrl("http://127.0.0.1:" + std::to_string(tarpit.local_endpoint().port()) + "/hook");
  ASSERT_TRUE(allow && url);
  const auto answer = PostWebhook(*url, *allow, "{}", {}, 300ms);
  EXPECT_FALSE(answer.outcome.status.has_value()) << "no answer";
  EXPECT_FALSE(answer.outcome.destination_refused);
  EXPECT_NE(answer.error.find("timeout"), std::string::npos) << answer.error;
}

}  // namespace
}  // namespace batchq::test
