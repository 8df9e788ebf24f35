// Redis with replication and Sentinel, with real redis-server and redis-sentinel
// processes: every batchq process finds the master through the sentinels and follows a
// failover by itself, and --redis-replicas-ack holds a job's 202 until a replica has
// its record.
#include <algorithm>
#include <csignal>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/scope_exit.hpp>

#include "common/redis_connection.h"
#include "tests/support/stack.h"

namespace batchq::test {
namespace {

using namespace std::chrono_literals;

// Submits until the gateway accepts (it answers 503 while Redis has no master), then
// waits for the job; its final JSON, or "" if it was never accepted or never ended.
std::string SubmitUntilAcceptedAndWait(HttpClient& client, const std::string& input) {
  std::string id;
  WaitFor(
      [&] {
        auto accepted =
            client.PostJson("/v1/jobs", fmt::format(R"({{"type":"upper","input":"{}"}})", input));
        if (accepted && accepted->status == 202) id = JsonString(accepted->body, "id");
        return !id.empty();
      },
      30s);
  return id.empty() ? "" : WaitTerminal(client, id);
}

// The default heartbeat (1 s, three missed: dead): a Redis failover does not touch the
// worker's link to the broker, and a 100 ms one let an overloaded CI machine (ASan, two
// Sentinel stacks at once) stall both ends past 300 ms until a job failed worker_lost.
StackOptions SentinelOptions() {
  return StackOptions{.workers = 1,
                      .broker_args = {"--sweep-ms", "300", "--sweep-grace-ms", "1000"},
                      .redis_replicas = 2,
                      .sentinels = 3};
}

TEST(SentinelTest, EveryProcessFollowsTheMasterThroughAFailover) {
  Stack stack(SentinelOptions());
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto client = stack.Client();
  const std::string before = SubmitUntilAcceptedAndWait(*client, "before the failover");
  ASSERT_EQ(JsonString(before, "status"), "succeeded") << before << stack.Logs();

  stack.redis_node(0).Kill();
  ASSERT_TRUE(WaitFor([&] { return stack.RedisMasterNode() > 0; }, 30s))
      << "no replica was promoted\n"
      << stack.Logs();
  // The gateway writes the job to the new master, the broker dispatches it under a lease
  // there, the worker claims it and writes its result there.
  const std::string done = SubmitUntilAcceptedAndWait(*client, "after the failover");
  ASSERT_EQ(JsonString(done, "status"), "succeeded") << done << stack.Logs();
  EXPECT_EQ(JsonString(done, "result"), "AFTER THE FAILOVER");
  // A job finished before the failover is still there: replication carried it.
  auto kept = client->Get("/v1/jobs/" + JsonString(before, "id"));
  ASSERT_TRUE(kept);
  EXPECT_EQ(JsonString(kept->body, "result"), "BEFORE THE FAILOVER") << kept->body;
}

// A failover with no crash, once the replica has every write: the sentinels promote
// node 1, and node 0 stays a master until they demote it, some seconds later.
testing::AssertionResult FailOverToNode1(const Stack& stack) {
  std::string out;
  if (RunCommand(
          {BATCHQ_REDIS_CLI, "-u", stack.redis_url(), "--no-auth-warning", "WAIT", "1", "2000"},
          &out) != 0) {
    return testing::AssertionFailure() << "WAIT failed: " << out;
  }
  if (stack.AskSentinel({"SENTINEL", "FAILOVER", "batchq"}).find("OK") == std::string::npos) {
    return testing::AssertionFailure() << "SENTINEL FAILOVER was refused\n" << stack.Logs();
  }
  if (!WaitFor([&] { return stack.RedisMasterNode() == 1; }, 30s)) {
    return testing::AssertionFailure() << "node 1 was not promoted\n" << stack.Logs();
  }
  return testing::AssertionSuccess();
}

TEST(SentinelTest, AConnectionOnAMasterThatIsDemotedFindsTheNewOne) {
  Stack stack(StackOptions{.workers = 0, .redis_replicas = 1, .sentinels = 3});
  // It never asks the sentinels again (the next test is about that): only READONLY or a
  // cut connection moves it.
  RedisConnection redis(RedisConnection::Options{.endpoint = stack.redis_admin_endpoint(),
                                                 .master_check_interval = std::chrono::hours(1)});
  auto first = redis.Command({"SET", "bq:probe", "1"});
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_EQ(first->str, "OK");
  EXPECT_EQ(redis.server(), fmt::format("127.0.0.1:{}", stack.RedisNodePort(0)));

  // A failover with no crash: the master is demoted in place. The connection on it is
  // either cut by Sentinel or answered READONLY; either way the write goes to the new
  // master, found anew.
  ASSERT_TRUE(FailOverToNode1(stack));
  std::string out;
  // Until Sentinel demotes the old master (some seconds later) it still takes writes:
  // Redis's own window of split brain. Demote it now, as Sentinel will, with REPLICAOF,
  // which leaves its clients connected: the next write there is answered READONLY.
  ASSERT_EQ(RunCommand({BATCHQ_REDIS_CLI, "-u", stack.RedisNodeUrl(0), "--no-auth-warning",
                        "REPLICAOF", "127.0.0.1", std::to_string(stack.RedisNodePort(1))},
                       &out),
            0)
      << out;
  Result<RedisReply> second = Fail(ErrorCode::kRedisUnavailable);
  const std::string_view incr[] = {"INCR", "bq:probe"};
  ASSERT_TRUE(WaitFor([&] {
    second = redis.Command(incr, RedisConnection::Replay::kUnsafe);
    return second.has_value() && !second->is_error();
  })) << (second ? second->str : second.error().message);
  EXPECT_EQ(second->integer, 2) << "the new master has the write made on the old one";
  EXPECT_EQ(redis.server(), fmt::format("127.0.0.1:{}", stack.RedisNodePort(1)));
}

// Connections waiting in the accept queue of the loopback TCP listener on `port`
// (/proc/net/tcp's rx_queue of a socket in LISTEN); -1 if there is none. A stopped
// process accepts nothing, so this counts every connection made to it meanwhile.
int AcceptQueue(int port) {
  std::ifstream table("/proc/net/tcp");
  std::string line;
  std::getline(table, line);  // the header
  const std::string local = fmt::format("0100007F:{:04X}", port);
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string slot, local_address, remote_address, state, queues;
    fields >> slot >> local_address >> remote_address >> state >> queues;
    if (local_address != local || state != "0A") continue;
    return std::stoi(queues.substr(queues.find(':') + 1), nullptr, 16);
  }
  return -1;
}

TEST(SentinelTest, AHungSentinelIsAskedOnceAndTheConnectionStaysWithOneThatAnswers) {
  // A sentinel that accepts connections and never answers (here: stopped) must cost a
  // connection one timeout, not one per master check; and never hang it.
  Stack stack(StackOptions{.workers = 0, .redis_replicas = 1, .sentinels = 3});
  // This connection asks the last sentinel first. The stack's processes ask the first,
  // and move on only when it fails, so of batchq's connections only this test's reaches
  // the last one (the other sentinels' links to it do too: see kCommands).
  RedisEndpoint endpoint = stack.redis_admin_endpoint();
  ASSERT_EQ(endpoint.sentinels.size(), 3u);
  std::rotate(endpoint.sentinels.begin(), endpoint.sentinels.end() - 1, endpoint.sentinels.end());
  const int hung_port = endpoint.sentinels[0].port;
  RedisConnection redis(RedisConnection::Options{
      .endpoint = endpoint, .master_check_interval = std::chrono::milliseconds(0)});
  auto first = redis.Command({"SET", "bq:probe", "0"});
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_EQ(AcceptQueue(hung_port), 0) << "the sentinel is listening and accepting";

  constexpr int kCommands = 50;
  long long last = 0;
  int asked = 0;
  {
    stack.sentinel(2).Signal(SIGSTOP);
    // Resumed however the test ends, so that the stack's teardown can stop it at once.
    BOOST_SCOPE_EXIT_ALL(&) { stack.sentinel(2).Signal(SIGCONT); };
    // Each asks a sentinel first (a check every command). The other two sentinels queue a
    // connection or two as well while it is stopped (their links to it time out and are
    // made again), hence the margin below.
    for (int i = 0; i < kCommands; ++i) {
      const std::string_view incr[] = {"INCR", "bq:probe"};
      auto reply = redis.Command(incr, RedisConnection::Replay::kUnsafe);
      ASSERT_TRUE(reply) << "command " << i << ": " << reply.error().message;
      last = reply->integer;
    }
    asked = AcceptQueue(hung_port);
  }
  std::cout << "connections the stopped sentinel queued: " << asked << "\n";
  EXPECT_EQ(last, kCommands) << "every command ran on the master";
  EXPECT_GE(asked, 1) << "the stopped sentinel was asked";
  EXPECT_LT(asked, kCommands / 2)
      << "asked once, then the connection stayed with a sentinel that answers";
}

TEST(SentinelTest, AConnectionLeavesAMasterTheSentinelsReplacedWhileItStillTakesWrites) {
  Stack stack(StackOptions{.workers = 0, .redis_replicas = 1, .sentinels = 3});
  RedisConnection redis(RedisConnection::Options{.endpoint = stack.redis_admin_endpoint(),
                                                 .master_check_interval = 0ms});
  auto first = redis.Command({"SET", "bq:probe", "1"});
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_EQ(redis.server(), fmt::format("127.0.0.1:{}", stack.RedisNodePort(0)));
  RedisConnection subscriber(RedisConnection::Options{.endpoint = stack.redis_admin_endpoint(),
                                                      .master_check_interval = 0ms});
  auto subscribed = subscriber.Subscribe("bq:probe-channel");
  ASSERT_TRUE(subscribed) << subscribed.error().message;

  // The sentinels promote node 1 and only demote node 0 seconds later: in between, node 0
  // is the split brain's other master. It answers writes as one, so no READONLY moves the
  // connection; asking the sentinel does.
  ASSERT_TRUE(FailOverToNode1(stack));
  if (stack.RedisNodeRole(0) != "master") GTEST_SKIP() << "node 0 was demoted before the write";
  const std::string_view incr[] = {"INCR", "bq:probe"};
  auto second = redis.Command(incr, RedisConnection::Replay::kUnsafe);
  auto event = subscriber.NextEvent(0ms);
  // Had node 0 been demoted meanwhile, READONLY would have moved the connection: the
  // test could not tell the two apart.
  if (stack.RedisNodeRole(0) != "master") GTEST_SKIP() << "node 0 was demoted during the write";
  ASSERT_TRUE(second) << second.error().message;
  ASSERT_FALSE(second->is_error()) << second->str;
  EXPECT_EQ(redis.server(), fmt::format("127.0.0.1:{}", stack.RedisNodePort(1)))
      << "the write went to the master the sentinels had replaced";
  EXPECT_EQ(second->integer, 2) << "the new master has the write made before the failover";
  // A subscription there would hear nothing published on the new master: it is ended,
  // and subscribing again lands on the new one.
  EXPECT_FALSE(event) << "the subscription stayed on the replaced master";
  ASSERT_TRUE(subscriber.Subscribe("bq:probe-channel"));
  EXPECT_EQ(subscriber.server(), fmt::format("127.0.0.1:{}", stack.RedisNodePort(1)));
}

TEST(SentinelTest, ASubscriptionInALongWaitAsksTheSentinelsOnTimeAndLeavesAMasterTheyNoLongerName) {
  Stack stack(StackOptions{.workers = 0, .redis_replicas = 1, .sentinels = 1});
  RedisConnection subscriber(RedisConnection::Options{.endpoint = stack.redis_admin_endpoint(),
                                                      .master_check_interval = 3s});
  ASSERT_TRUE(subscriber.Subscribe("bq:probe-channel"));
  ASSERT_EQ(subscriber.server(), fmt::format("127.0.0.1:{}", stack.RedisNodePort(0)));
  // The sentinel names node 1 from now on, at once (no failover to wait for), well within
  // the 3 s before the subscription's next question. Nothing is published where it
  // listens, so only that question can end the wait.
  ASSERT_NE(stack.AskSentinel({"SENTINEL", "REMOVE", "batchq"}).find("OK"), std::string::npos);
  ASSERT_NE(stack
                .AskSentinel({"SENTINEL", "MONITOR", "batchq", "127.0.0.1",
                              std::to_string(stack.RedisNodePort(1)), "1"})
                .find("OK"),
            std::string::npos);
  auto event = subscriber.NextEvent(120s);
  ASSERT_FALSE(event) << "the wait ran to its end on the master the sentinel no longer names";
  EXPECT_EQ(event.error().code, ErrorCode::kRedisUnavailable) << event.error().message;
}

TEST(SentinelTest, ReplicasAckHoldsThe202UntilAReplicaHasTheJobAndWithdrawsItOtherwise) {
  Stack stack(StackOptions{
      .workers = 1, .gateway_args = {"--redis-replicas-ack", "1"}, .redis_replicas = 1});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto client = stack.Client();
  ExpectUpperJobRuns(*client, "copied before its answer");

  stack.redis_node(1).Signal(SIGSTOP);  // the replica takes nothing now
  auto refused = client->PostJson("/v1/jobs", R"({"type":"upper","input":"nowhere to copy"})");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503) << refused->body;
  EXPECT_EQ(JsonString(refused->body, "error", "code"), "not_replicated") << refused->body;
  EXPECT_NE(JsonString(refused->body, "error", "message")
                .find("reached 0 of the 1 Redis replicas it must reach within 1000 ms"),
            std::string::npos)
      << refused->body;
  EXPECT_EQ(refused->Header("Retry-After"), "1");
  stack.redis_node(1).Signal(SIGCONT);
  // Withdrawn: neither its record nor a pending entry is left to run; the first job's
  // record is the only one.
  std::string out;
  ASSERT_EQ(RunCommand({BATCHQ_REDIS_CLI, "-u", stack.redis_url(), "--no-auth-warning", "ZCARD",
                        "bq:pending"},
                       &out),
            0);
  EXPECT_EQ(std::stoi(out), 0) << "the withdrawn job is not queued";
  ASSERT_EQ(RunCommand({BATCHQ_REDIS_CLI, "-u", stack.redis_url(), "--no-auth-warning", "--scan",
                        "--pattern", "bq:job:*"},
                       &out),
            0);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  ExpectUpperJobRuns(*client, "copied again");
}

}  // namespace
}  // namespace batchq::test
