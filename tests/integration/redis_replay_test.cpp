// RedisConnection's replay rule against real peers: a command whose reply was lost is
// sent again only when it is safe to run twice, and a connection Redis closed while it
// sat idle (a restart) is replaced before anything is sent on it.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "common/job_store.h"
#include "common/redis_connection.h"
#include "tests/support/child_process.h"

namespace batchq {
namespace {

using namespace std::chrono_literals;
using Replay = RedisConnection::Replay;

// A peer that takes each connection, reads one request and hangs up without a reply,
// as a Redis dying mid-command would. Counts the requests it read.
class HangUpServer {
 public:
  HangUpServer() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    ::listen(listener_, 8);
    socklen_t size = sizeof(address);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] {
      for (;;) {
        const int peer = ::accept(listener_, nullptr, nullptr);
        if (peer < 0) return;  // the listener was shut down
        char buffer[4096];
        if (::read(peer, buffer, sizeof(buffer)) > 0) ++requests_;
        ::close(peer);
      }
    });
  }
  ~HangUpServer() {
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    thread_.join();
  }
  int port() const { return port_; }
  int requests() const { return requests_.load(); }

 private:
  int listener_ = -1;
  int port_ = 0;
  std::atomic<int> requests_{0};
  std::thread thread_;
};

RedisConnection::Options Local(int port) {
  RedisConnection::Options options;
  options.endpoint.host = "127.0.0.1";
  options.endpoint.port = port;
  options.command_timeout = 2000ms;
  return options;
}

TEST(RedisReplayTest, OnlyACommandSafeToRunTwiceIsSentAgainWhenItsReplyIsLost) {
  HangUpServer server;
  RedisConnection redis(Local(server.port()));
  auto unsafe = redis.Command(std::vector<std::string_view>{"EVALSHA", "x", "0"}, Replay::kUnsafe);
  ASSERT_FALSE(unsafe);
  EXPECT_EQ(unsafe.error().code, ErrorCode::kRedisUnavailable);
  EXPECT_EQ(server.requests(), 1) << "a script that may have run must not be sent twice";
  auto safe = redis.Command(std::vector<std::string_view>{"GET", "k"}, Replay::kSafe);
  ASSERT_FALSE(safe);
  EXPECT_EQ(server.requests(), 3) << "a read is worth one more try on a fresh connection";
}

TEST(RedisReplayTest, AConnectionClosedByARedisRestartIsReplacedBeforeAnUnsafeSend) {
  const int port = test::FreePort();
  const std::vector<std::string> argv{
      BATCHQ_REDIS_SERVER, "--port", std::to_string(port), "--bind", "127.0.0.1", "--save", "",
      "--appendonly",      "no"};
  const auto wait_up = [&] {
    for (int i = 0; i < 100; ++i) {
      std::string out;
      if (test::RunCommand({BATCHQ_REDIS_CLI, "-p", std::to_string(port), "PING"}, &out) == 0 &&
          out.find("PONG") != std::string::npos) {
        return true;
      }
      std::this_thread::sleep_for(50ms);
    }
    return false;
  };
  auto redis_server = std::make_unique<test::ChildProcess>(argv, "/dev/null");
  ASSERT_TRUE(wait_up());
  RedisConnection redis(Local(port));
  JobStore store(redis, JobStore::Options{"bq:test:", std::chrono::seconds(60)});
  JobRecord job;
  job.id = "a";
  job.type = "upper";
  job.input = "1";
  ASSERT_TRUE(store.Create(std::span<const NewJob>(&job, 1)));

  redis_server->Kill();
  redis_server = std::make_unique<test::ChildProcess>(argv, "/dev/null");
  ASSERT_TRUE(wait_up());
  // Create is never replayed, so it succeeds at once only if the dead connection was
  // noticed before sending.
  job.id = "b";
  auto created = store.Create(std::span<const NewJob>(&job, 1));
  ASSERT_TRUE(created) << created.error().message;
  auto record = store.Get("b");
  ASSERT_TRUE(record && *record);
  EXPECT_EQ((*record)->status, JobStatus::kQueued);
}

}  // namespace
}  // namespace batchq
