// Redis ACL users per role with real processes: each role logs in with its password
// file and can do only what it needs (deploy/redis/users.acl.in); a wrong or missing
// password stops a process at start with a sentence.
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/redis_connection.h"
#include "tests/support/stack.h"

namespace batchq::test {
namespace {

// The reply's error text, or "" when Redis ran the command.
std::string Refusal(RedisConnection& redis, std::initializer_list<std::string_view> command) {
  auto reply = redis.Command(command);
  if (!reply) return "connection failed: " + reply.error().message;
  return reply->is_error() ? reply->str : "";
}

TEST(RedisAclTest, EachRoleReachesOnlyWhatItNeeds) {
  Stack stack(StackOptions{.workers = 1});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto client = stack.Client();
  const std::string key = stack.CreateKey("acme", "submit,read");
  const std::string key_record = "bq:apikey:" + key.substr(3, 12);
  auto job = client->PostJson("/v1/jobs", R"({"type":"upper","input":"acl"})");
  ASSERT_TRUE(job);
  ASSERT_EQ(job->status, 202);
  const std::string id = JsonString(job->body, "id");
  ASSERT_EQ(JsonString(WaitTerminal(*client, id), "result"), "ACL");
  const std::string job_key = "bq:job:" + id;

  RedisConnection admin(RedisConnection::Options{*ParseRedisUrl(stack.redis_url())});
  ASSERT_EQ(Refusal(admin, {"HGET", key_record, "tenant"}), "") << "the record exists";

  RedisConnection worker = RoleRedis(stack, "worker");
  EXPECT_EQ(Refusal(worker, {"HGET", job_key, "status"}), "") << "a worker reads job records";
  EXPECT_EQ(Refusal(worker, {"PUBSUB", "NUMSUB", "bq:progress"}), "")
      << "a worker counts who hears the progress channel";
  for (auto command : std::vector<std::vector<std::string_view>>{{"HGET", key_record, "tenant"},
                                                                 {"HGETALL", key_record},
                                                                 {"SMEMBERS", "bq:apikeys"},
                                                                 {"DEL", job_key},
                                                                 {"UNLINK", job_key},
                                                                 {"KEYS", "*"},
                                                                 {"SCAN", "0"},
                                                                 {"FLUSHALL"},
                                                                 {"CONFIG", "GET", "requirepass"},
                                                                 {"LRANGE", "bq:recent", "0", "-1"},
                                                                 {"SET", "bq:broker:epoch", "99"},
                                                                 {"INCR", "bq:broker:epoch"},
                                                                 {"DEL", "bq:broker:lease"},
                                                                 {"PUBSUB", "CHANNELS"}}) {
    auto reply = worker.Command(std::span<const std::string_view>(command));
    ASSERT_TRUE(reply);
    EXPECT_TRUE(reply->is_error()) << "a worker ran " << command[0];
    EXPECT_TRUE(reply->str.starts_with("NOPERM")) << reply->str;
  }
  RedisConnection broker = RoleRedis(stack, "broker");
  EXPECT_TRUE(Refusal(broker, {"HGET", key_record, "tenant"}).starts_with("NOPERM"));
  EXPECT_TRUE(Refusal(broker, {"DEL", job_key}).starts_with("NOPERM"));
  // Its lease commands reach the lease's keys and nothing else.
  EXPECT_EQ(Refusal(worker, {"GET", "bq:broker:epoch"}), "") << "a worker reads the epoch";
  EXPECT_EQ(Refusal(broker, {"GET", "bq:broker:lease"}), "");
  EXPECT_TRUE(Refusal(broker, {"SET", job_key, "x"}).starts_with("NOPERM"));
  EXPECT_TRUE(Refusal(broker, {"SET", "bq:pending", "x"}).starts_with("NOPERM"));
  RedisConnection gateway = RoleRedis(stack, "gateway");
  EXPECT_EQ(Refusal(gateway, {"HGET", key_record, "tenant"}), "") << "the gateway checks keys";
  EXPECT_TRUE(Refusal(gateway, {"FLUSHALL"}).starts_with("NOPERM"));
  EXPECT_TRUE(Refusal(gateway, {"CONFIG", "SET", "appendonly", "no"}).starts_with("NOPERM"));

  // Nothing above changed the job, and a client without a user gets nothing at all.
  EXPECT_EQ(JsonString(client->Get("/v1/jobs/" + id)->body, "status"), "succeeded");
  auto endpoint = ParseRedisUrl(stack.redis_url("default"));
  endpoint->user.clear();
  RedisConnection anonymous(RedisConnection::Options{*endpoint});
  EXPECT_TRUE(Refusal(anonymous, {"GET", "x"}).starts_with("NOAUTH"));
}

TEST(RedisAclTest, AWrongOrMissingPasswordStopsAProcessAtStartWithASentence) {
  Stack stack(StackOptions{.workers = 0});
  const std::string wrong = stack.dir() + "/wrong.password";
  std::ofstream(wrong) << "not-the-password\n";
  struct Case {
    std::vector<std::string> redis_args;
    std::string sentence;
  };
  for (const auto& [redis_args, sentence] : std::vector<Case>{
           {{"--redis-url", stack.redis_url("worker"), "--redis-password-file", wrong},
            "refused the password"},
           {{"--redis-url", stack.redis_url("worker")}, "needs a password"},
           {{"--redis-url", stack.redis_url("worker"), "--redis-password-file",
             stack.dir() + "/missing.password"},
            "Cannot read the Redis password file"}}) {
    for (const std::string binary : {BATCHQ_WORKER_BIN, BATCHQ_BROKER_BIN, BATCHQ_GATEWAY_BIN}) {
      std::vector<std::string> argv{binary, "--no-curve"};
      argv.insert(argv.end(), redis_args.begin(), redis_args.end());
      if (binary == BATCHQ_GATEWAY_BIN) argv.insert(argv.end(), {"--port", "0", "--auth", "none"});
      if (binary == BATCHQ_BROKER_BIN) {
        argv.insert(argv.end(), {"--frontend", fmt::format("tcp://127.0.0.1:{}", FreePort()),
                                 "--backend", fmt::format("tcp://127.0.0.1:{}", FreePort())});
      }
      ChildProcess process(argv, stack.dir() + "/refused.log");
      const int status = process.Wait(std::chrono::seconds(20));
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << binary << " started";
      EXPECT_NE(process.ReadLog().find(sentence), std::string::npos)
          << binary << ": " << process.ReadLog();
    }
  }
}

}  // namespace
}  // namespace batchq::test
