// RedisConnection builds each reply straight from hiredis's reader (kReplyBuilders in
// redis_connection.cpp). Every kind of reply a real Redis sends, nested and large ones
// included, must arrive whole: by a command, in a pipeline and on a subscription.
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/redis_connection.h"
#include "tests/support/child_process.h"

namespace batchq {
namespace {

using namespace std::chrono_literals;
using Kind = RedisReply::Kind;

class RedisRepliesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<test::ChildProcess>(
        std::vector<std::string>{BATCHQ_REDIS_SERVER, "--port", std::to_string(port_), "--bind",
                                 "127.0.0.1", "--save", "", "--appendonly", "no"},
        "/dev/null");
    for (int i = 0; i < 100; ++i) {
      std::string out;
      if (test::RunCommand({BATCHQ_REDIS_CLI, "-p", std::to_string(port_), "PING"}, &out) == 0 &&
          out.find("PONG") != std::string::npos) {
        return;
      }
      std::this_thread::sleep_for(50ms);
    }
    FAIL() << "redis-server did not start";
  }

  RedisConnection::Options Options() const {
    RedisConnection::Options options;
    options.endpoint.host = "127.0.0.1";
    options.endpoint.port = port_;
    return options;
  }

  const int port_ = test::FreePort();
  std::unique_ptr<test::ChildProcess> server_;
};

// Bytes no text reply holds: NUL, CR, LF and every other byte value, 300 kB of them.
std::string BinaryValue() {
  std::string value;
  for (int i = 0; i < 300000; ++i) value.push_back(static_cast<char>(i * 7 % 256));
  return value;
}

TEST_F(RedisRepliesTest, EveryKindArrivesWholeFromACommandAndAPipeline) {
  RedisConnection redis(Options());
  const std::string binary = BinaryValue();
  const std::vector<std::vector<std::string_view>> commands = {
      {"SET", "k", binary},
      {"GET", "k"},
      {"GET", "missing"},
      {"INCRBY", "n", "-42"},
      {"INCR", "k"},
      {"LRANGE", "missing", "0", "-1"},
      // Nested arrays, a nil inside one (Lua's false) and an integer among texts.
      {"EVAL", "return {1, 'one', {2, {'deep', false}}, redis.error_reply('ERR inner')}", "0"},
      {"MULTI"},
      {"INCR", "n"},
      {"INCR", "k"},
      {"EXEC"},
  };
  const auto replies = redis.Pipeline(commands, RedisConnection::Replay::kSafe);
  ASSERT_TRUE(replies) << replies.error().message;
  ASSERT_EQ(replies->size(), commands.size());
  const auto& r = *replies;
  EXPECT_EQ(r[0].kind, Kind::kStatus);
  EXPECT_EQ(r[0].str, "OK");
  EXPECT_EQ(r[1].kind, Kind::kString);
  EXPECT_EQ(r[1].str, binary) << "the value came back with " << r[1].str.size() << " bytes";
  EXPECT_EQ(r[2].kind, Kind::kNil);
  EXPECT_EQ(r[3].kind, Kind::kInteger);
  EXPECT_EQ(r[3].integer, -42);
  EXPECT_EQ(r[4].kind, Kind::kError);
  EXPECT_EQ(r[4].str.rfind("ERR", 0), 0u) << r[4].str;
  EXPECT_EQ(r[5].kind, Kind::kArray);
  EXPECT_TRUE(r[5].elements.empty());

  const RedisReply& nested = r[6];
  ASSERT_EQ(nested.kind, Kind::kArray);
  ASSERT_EQ(nested.elements.size(), 4u);
  EXPECT_EQ(nested.elements[0].kind, Kind::kInteger);
  EXPECT_EQ(nested.elements[0].integer, 1);
  EXPECT_EQ(nested.elements[1].str, "one");
  const RedisReply& inner = nested.elements[2];
  ASSERT_EQ(inner.kind, Kind::kArray);
  ASSERT_EQ(inner.elements.size(), 2u);
  EXPECT_EQ(inner.elements[0].integer, 2);
  ASSERT_EQ(inner.elements[1].kind, Kind::kArray);
  ASSERT_EQ(inner.elements[1].elements.size(), 2u);
  EXPECT_EQ(inner.elements[1].elements[0].str, "deep");
  EXPECT_EQ(inner.elements[1].elements[1].kind, Kind::kNil);
  EXPECT_EQ(nested.elements[3].kind, Kind::kError);
  EXPECT_EQ(nested.elements[3].str, "ERR inner");

  EXPECT_EQ(r[7].str, "OK");
  EXPECT_EQ(r[8].kind, Kind::kStatus);
  EXPECT_EQ(r[8].str, "QUEUED");
  const RedisReply& exec = r[10];
  ASSERT_EQ(exec.kind, Kind::kArray);
  ASSERT_EQ(exec.elements.size(), 2u);
  EXPECT_EQ(exec.elements[0].integer, -41);
  EXPECT_EQ(exec.elements[1].kind, Kind::kError) << "INCR of a binary value inside EXEC";

  // One command alone takes the same path.
  const auto alone = redis.Command({"GET", "k"});
  ASSERT_TRUE(alone);
  EXPECT_EQ(alone->str, binary);
}

TEST_F(RedisRepliesTest, ASubscriptionsMessagesArriveWhole) {
  RedisConnection subscriber(Options());
  ASSERT_TRUE(subscriber.Subscribe("ch"));
  RedisConnection publisher(Options());
  const std::string binary = BinaryValue();
  for (const std::string& payload : {std::string("short"), binary, std::string()}) {
    ASSERT_TRUE(publisher.Command({"PUBLISH", "ch", payload}));
    const auto message = subscriber.NextMessage(5s);
    ASSERT_TRUE(message) << message.error().message;
    ASSERT_TRUE(message->has_value()) << "nothing within 5 s";
    EXPECT_EQ(**message, payload) << "a payload of " << payload.size() << " bytes";
  }
}

}  // namespace
}  // namespace batchq
