// Hostile or broken peers with real processes, each written here as the attacker (or the
// buggy program) would be: what they may hold and for how long.
#include <atomic>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>
#include <zmq.hpp>

#include "common/curve_socket.h"
#include "common/redis_connection.h"
#include "common/wall_clock.h"
#include "common/zmq_transport.h"
#include "tests/support/stack.h"

namespace batchq::test {
namespace {

// A worker with a listed key that registers, heartbeats, takes batches and never
// finishes one: hung in its handler, or hostile. Runs on its own thread until destroyed.
class HungWorker {
 public:
  explicit HungWorker(const Stack& stack) {
    CurveClientKeys keys{*LoadCurveSecretFile(stack.worker_secret_file()),
                         *LoadCurvePublicFile(stack.broker_public_key_file())};
    thread_ = std::thread([this, keys, endpoint = stack.broker_backend()] { Run(keys, endpoint); });
  }
  ~HungWorker() {
    stop_.store(true);
    thread_.join();
  }
  int batches() const { return batches_.load(); }

 private:
  void Run(const CurveClientKeys& keys, const std::string& endpoint) {
    zmq::context_t context(1);
    zmq::socket_t socket(context, zmq::socket_type::dealer);
    socket.set(zmq::sockopt::linger, 0);
    UseCurveClient(socket, keys);
    socket.connect(endpoint);
    SendWire(socket, {}, wire::Ready{"hung", {"upper"}, 1, "cpu", "cpu", 0});
    while (!stop_.load()) {
      zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds(100));
      while (auto received = ReceiveWire(socket, /*routed=*/false)) {
        if (received->message && std::holds_alternative<wire::Batch>(*received->message)) {
          ++batches_;
        }
      }
      SendWire(socket, {}, wire::Heartbeat{0});
    }
  }

  std::atomic<bool> stop_{false};
  std::atomic<int> batches_{0};
  std::thread thread_;
};

TEST(HostilePeerTest, AWorkerThatHeartbeatsButNeverFinishesLosesItsBatchAfterMaxRun) {
  Stack stack(StackOptions{.workers = 0,
                           .broker_args = {"--type", "upper:max_run_ms=1500", "--heartbeat-ms",
                                           "200", "--metrics-listen", "127.0.0.1:0"}});
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  HungWorker hung(stack);
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto client = stack.Client();
  auto job = client->PostJson("/v1/jobs", R"({"type":"upper","input":"not forever"})");
  ASSERT_TRUE(job);
  ASSERT_EQ(job->status, 202);
  const std::string id = JsonString(job->body, "id");
  ASSERT_TRUE(WaitFor([&] { return hung.batches() == 1; })) << stack.Logs();
  stack.AddWorker();  // a healthy worker, busy with nothing
  const std::string done = WaitTerminal(*client, id);
  EXPECT_EQ(JsonString(done, "status"), "succeeded") << done << stack.Logs();
  EXPECT_EQ(JsonString(done, "result"), "NOT FOREVER");
  EXPECT_EQ(JsonInt(done, "attempts"), 2) << "the hung run was fenced off";
  EXPECT_EQ(hung.batches(), 1) << "a hung worker's credit stays spent: it gets nothing more";
  const std::string metrics = ScrapeMetrics(
      fmt::format("http://127.0.0.1:{}", LoggedMetricsPort(stack.broker().ReadLog())));
  EXPECT_NE(metrics.find(R"(batchq_batches_overdue_total{type="upper"} 1)"), std::string::npos)
      << metrics;
}

TEST(HostilePeerTest, AWorkerCannotAddATypeTheBrokerDoesNotServe) {
  Stack stack(StackOptions{.workers = 0, .broker_args = {"--type", "upper"}});
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  stack.AddWorker({"--type", "upper", "--type", "render"});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto client = stack.Client();
  auto types = client->Get("/v1/types");
  ASSERT_TRUE(types);
  EXPECT_EQ(types->body.find(R"("name":"render")"), std::string::npos) << types->body;
  auto render = client->PostJson("/v1/jobs", R"({"type":"render","input":{"width":8}})");
  ASSERT_TRUE(render);
  EXPECT_EQ(render->status, 400) << render->body;
  EXPECT_EQ(JsonString(render->body, "error", "code"), "unknown_type") << render->body;
  EXPECT_TRUE(WaitFor([&] {
    return stack.broker().ReadLog().find("does not serve, ignored: [render]") != std::string::npos;
  })) << stack.Logs();
  // The worker still serves what the broker does.
  ExpectUpperJobRuns(*client, "still served");
}

TEST(HostilePeerTest, AFloodOfMalformedFramesWritesAFewLinesNamingThePeer) {
  Stack stack(StackOptions{.workers = 0});
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  zmq::context_t context(1);
  zmq::socket_t peer(context, zmq::socket_type::dealer);
  peer.set(zmq::sockopt::linger, 0);
  UseCurveClient(peer, CurveClientKeys{*LoadCurveSecretFile(stack.worker_secret_file()),
                                       *LoadCurvePublicFile(stack.broker_public_key_file())});
  peer.connect(stack.broker_backend());
  const auto start = std::chrono::steady_clock::now();
  constexpr int kFrames = 2000;
  for (int i = 0; i < kFrames; ++i) peer.send(zmq::str_buffer("garbage"));
  // Each bad frame is answered with a DISCONNECT; all answered means all handled.
  int answered = 0;
  ASSERT_TRUE(WaitFor([&] {
    zmq::pollitem_t item{peer.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(50));
    while (ReceiveWire(peer, /*routed=*/false)) ++answered;
    return answered == kFrames;
  })) << answered;
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start)
          .count();
  const std::string log = stack.broker().ReadLog();
  int lines = 0;
  for (auto at = log.find("dropped a bad message"); at != std::string::npos;
       at = log.find("dropped a bad message", at + 1)) {
    ++lines;
  }
  EXPECT_GE(lines, 1) << log;
  EXPECT_LE(lines, seconds + 2) << "one line a second per peer, not one per frame";
  EXPECT_NE(log.find("backend: dropped a bad message from 'worker'"), std::string::npos)
      << "the line names the key the peer logged in with: " << log;
}

TEST(HostilePeerTest, AnUnfinishedRecordHasNoTtlAndAnEndedOneTheResultTtl) {
  // A record leaves Redis by its ending: the broker ends every queued job within its
  // queue lifetime (broker_core_test.cpp), so neither the plain create, the create
  // under an Idempotency-Key nor a retry gives it an expiry of its own.
  Stack stack(StackOptions{.workers = 0, .broker_args = {"--type", "idle"}});
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  auto client = stack.Client();
  RedisConnection admin(RedisConnection::Options{*ParseRedisUrl(stack.redis_url())});
  const auto ttl = [&](const std::string& id) {
    auto reply = admin.Command({"TTL", "bq:job:" + id});
    EXPECT_TRUE(reply);
    return reply ? reply->integer : -3;
  };
  auto plain = client->PostJson("/v1/jobs", R"({"type":"idle","input":1})");
  ASSERT_TRUE(plain);
  ASSERT_EQ(plain->status, 202) << plain->body;
  const std::string id = JsonString(plain->body, "id");
  EXPECT_EQ(ttl(id), -1) << "queued: no expiry";
  auto keyed = client->Send(
      HttpRequest{"POST",
                  "/v1/jobs",
                  R"({"type":"idle","input":2})",
                  {{"Content-Type", "application/json"}, {"Idempotency-Key", "no-ttl"}}});
  ASSERT_TRUE(keyed);
  ASSERT_EQ(keyed->status, 202) << keyed->body;
  EXPECT_EQ(ttl(JsonString(keyed->body, "id")), -1) << "queued under an Idempotency-Key";

  auto cancelled = client->Delete("/v1/jobs/" + id);
  ASSERT_TRUE(cancelled);
  ASSERT_EQ(cancelled->status, 200) << cancelled->body;
  EXPECT_GT(ttl(id), 23 * 3600) << "ended: the result TTL, a day by default";
  EXPECT_LE(ttl(id), 24 * 3600);

  auto retried = client->PostJson("/v1/jobs/" + id + ":retry", "{}");
  ASSERT_TRUE(retried);
  ASSERT_EQ(retried->status, 202) << retried->body;
  EXPECT_EQ(ttl(id), -1) << "queued again: the result's expiry is gone";
}

}  // namespace
}  // namespace batchq::test

namespace batchq::test {
namespace {

// A peer holding a stolen gateway key: sends one SUBMIT of `count` jobs that were never
// stored in Redis and returns the broker's ACCEPT (nullopt if none came).
std::optional<wire::Accept> SubmitJunk(const Stack& stack, int count) {
  zmq::context_t context(1);
  zmq::socket_t socket(context, zmq::socket_type::dealer);
  socket.set(zmq::sockopt::linger, 0);
  UseCurveClient(socket, CurveClientKeys{*LoadCurveSecretFile(stack.gateway_secret_file()),
                                         *LoadCurvePublicFile(stack.broker_public_key_file())});
  socket.connect(stack.broker_frontend());
  wire::Submit junk{42, {}};
  for (int i = 0; i < count; ++i) {
    junk.jobs.push_back(wire::SubmitJob{fmt::format("junk{}", i), "upper", 1000, 0, "\"junk\"",
                                        NowWallMicros().count(), 0, fmt::format("t{}", i), 1, 0});
  }
  if (!SendWire(socket, {}, junk)) return std::nullopt;
  std::optional<wire::Accept> accept;
  WaitFor([&] {
    zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(100));
    while (auto received = ReceiveWire(socket, /*routed=*/false)) {
      if (received->message && std::holds_alternative<wire::Accept>(*received->message)) {
        accept = std::get<wire::Accept>(*received->message);
      }
    }
    return accept.has_value();
  });
  return accept;
}

// How many `upper` jobs the broker holds queued, as GET /v1/types shows; -1 if unknown.
std::int64_t UpperQueueDepth(HttpClient& client) {
  auto types = client.Get("/v1/types");
  if (!types) return -1;
  simdjson::dom::parser parser;
  simdjson::dom::array list;
  if (parser.parse(types->body)["types"].get(list) != simdjson::SUCCESS) return -1;
  for (auto type : list) {
    std::string_view name;
    std::int64_t depth = 0;
    if (type["name"].get(name) == simdjson::SUCCESS && name == "upper" &&
        type["queue_depth"].get(depth) == simdjson::SUCCESS) {
      return depth;
    }
  }
  return -1;
}

// With a stolen gateway key a peer can send SUBMITs, but jobs it never stored in Redis
// do not stay queued: the first are withdrawn by the audit that finds them, and from
// then on every SUBMIT is checked before it is queued, so junk is refused.
TEST(HostilePeerTest, JobsWithoutARecordAreWithdrawnThenRefusedEvenWithAGatewayKey) {
  // No worker: whatever junk stays queued shows in the queue depth.
  Stack stack(StackOptions{.workers = 0});
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  const auto first = SubmitJunk(stack, 100);
  ASSERT_TRUE(first) << stack.Logs();
  ASSERT_EQ(first->request_id, 42u);
  ASSERT_EQ(first->verdicts.size(), 100u);
  ASSERT_TRUE(WaitFor([&] {
    return stack.broker().ReadLog().find("100 submitted jobs have no record in Redis") !=
           std::string::npos;
  })) << stack.Logs();
  auto client = stack.Client();
  ASSERT_TRUE(WaitFor([&] { return UpperQueueDepth(*client) == 0; }))
      << "the audited junk was not withdrawn";

  const auto second = SubmitJunk(stack, 100);
  ASSERT_TRUE(second) << stack.Logs();
  ASSERT_EQ(second->verdicts.size(), 100u);
  for (const auto& verdict : second->verdicts) {
    EXPECT_EQ(verdict.code, "invalid_request") << verdict.message;
  }
  EXPECT_EQ(UpperQueueDepth(*client), 0);
  stack.AddWorker();
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  ExpectUpperJobRuns(*stack.Client(), "real");
}

// While the broker checks every SUBMIT first, a check Redis cannot answer refuses the
// SUBMIT (the gateway then keeps what it stored, for the sweep) instead of queuing junk.
TEST(HostilePeerTest, ACheckRedisCannotAnswerRefusesTheSubmitRedisUnavailable) {
  Stack stack(StackOptions{.workers = 0});
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  ASSERT_TRUE(SubmitJunk(stack, 10)) << stack.Logs();
  ASSERT_TRUE(WaitFor([&] {
    return stack.broker().ReadLog().find("have no record in Redis") != std::string::npos;
  })) << stack.Logs();
  stack.redis().Kill();
  const auto accept = SubmitJunk(stack, 10);
  ASSERT_TRUE(accept) << stack.Logs();
  ASSERT_EQ(accept->verdicts.size(), 10u);
  for (const auto& verdict : accept->verdicts) {
    EXPECT_EQ(verdict.code, "redis_unavailable") << verdict.message;
  }
}

// More jobs awaiting their record check than the broker may hold are refused at once.
TEST(HostilePeerTest, ASubmitPastTheUncheckedBoundIsRefusedOverloaded) {
  Stack stack(StackOptions{.workers = 1, .broker_args = {"--max-unchecked-jobs", "50"}});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  const auto accept = SubmitJunk(stack, 100);
  ASSERT_TRUE(accept) << stack.Logs();
  ASSERT_EQ(accept->verdicts.size(), 100u);
  for (const auto& verdict : accept->verdicts) {
    EXPECT_EQ(verdict.code, "overloaded") << verdict.message;
    EXPECT_EQ(verdict.retry_after_ms, 1000);
  }
  ExpectUpperJobRuns(*stack.Client(), "real");
}

}  // namespace
}  // namespace batchq::test
