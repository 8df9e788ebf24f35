// What a deployment's storage may hold: Redis's maxmemory (new jobs refused with
// storage_full a margin before Redis would refuse every write), a tenant's bytes of
// queued input, and pending entries whose records expired.
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/redis_connection.h"
#include "tests/support/stack.h"

namespace batchq::test {
namespace {

std::uint64_t UsedMemory(RedisConnection& admin) {
  auto info = admin.Command({"INFO", "memory"});
  const std::string_view text = info->str;
  const auto at = text.find("used_memory:");
  return std::stoull(std::string(text.substr(at + 12, text.find('\r', at) - at - 12)));
}

// GET /readyz until it answers `status`; nullopt if it never does.
std::optional<HttpResponse> ReadyzOnceItAnswers(HttpClient& client, int status) {
  std::optional<HttpResponse> ready;
  const bool answered = WaitFor([&] {
    auto answer = client.Get("/readyz");
    if (answer && answer->status == status) ready = *answer;
    return ready.has_value();
  });
  return answered ? ready : std::nullopt;
}

TEST(StorageTest, NearMaxmemoryNewJobsGetStorageFullAndReadyzSaysWhyUntilThereIsRoom) {
  Stack stack(StackOptions{.workers = 1});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto client = stack.Client();
  RedisConnection admin(RedisConnection::Options{*ParseRedisUrl(stack.redis_url())});
  // Room for a little more than what Redis holds now: past the gateway's 90%.
  const std::uint64_t limit = UsedMemory(admin) * 21 / 20;
  ASSERT_TRUE(admin.Command({"CONFIG", "SET", "maxmemory", std::to_string(limit)}));
  auto ready = ReadyzOnceItAnswers(*client, 503);
  ASSERT_TRUE(ready) << stack.Logs();
  EXPECT_EQ(JsonString(ready->body, "storage"), "full") << ready->body;
  EXPECT_EQ(JsonString(ready->body, "error", "code"), "storage_full") << ready->body;
  EXPECT_NE(JsonString(ready->body, "error", "message").find("maxmemory"), std::string::npos)
      << ready->body;
  auto refused = client->PostJson("/v1/jobs", R"({"type":"upper","input":"no room"})");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503) << refused->body;
  EXPECT_EQ(JsonString(refused->body, "error", "code"), "storage_full") << refused->body;
  EXPECT_FALSE(refused->Header("Retry-After").empty());
  // Reads still work: what was accepted can be followed to its end.
  EXPECT_EQ(client->Get("/v1/jobs?limit=1")->status, 200);

  ASSERT_TRUE(admin.Command({"CONFIG", "SET", "maxmemory", "0"}));
  ready = ReadyzOnceItAnswers(*client, 200);
  ASSERT_TRUE(ready) << stack.Logs();
  EXPECT_EQ(JsonString(ready->body, "storage"), "ok") << ready->body;
  ExpectUpperJobRuns(*client, "room again");
}

TEST(StorageTest, ATenantsQueuedBytesAreCappedAndOtherTenantsAreNotHeld) {
  Stack stack(StackOptions{.workers = 0,
                           .broker_args = {"--type", "idle", "--tenant-max-queued-bytes", "3000"}});
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  auto heavy = stack.Client(stack.CreateKey("heavy", "submit,read"));
  auto light = stack.Client(stack.CreateKey("light", "submit,read"));
  const std::string kilobyte =
      fmt::format(R"({{"type":"idle","input":"{}"}})", std::string(1000, 'k'));
  for (int i = 0; i < 2; ++i) {
    auto accepted = heavy->PostJson("/v1/jobs", kilobyte);
    ASSERT_TRUE(accepted);
    ASSERT_EQ(accepted->status, 202) << accepted->body;
  }
  auto refused = heavy->PostJson("/v1/jobs", kilobyte);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 429) << refused->body;
  EXPECT_EQ(JsonString(refused->body, "error", "code"), "quota_exceeded") << refused->body;
  EXPECT_NE(JsonString(refused->body, "error", "message").find("bytes of queued input"),
            std::string::npos)
      << refused->body;
  auto small = heavy->PostJson("/v1/jobs", R"({"type":"idle","input":1})");
  ASSERT_TRUE(small);
  EXPECT_EQ(small->status, 202) << "a small job still fits: " << small->body;
  auto other = light->PostJson("/v1/jobs", kilobyte);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 202) << other->body;
}

TEST(StorageTest, ThePendingEntryOfAnExpiredRecordIsSweptAway) {
  Stack stack(StackOptions{.workers = 0, .broker_args = {"--sweep-ms", "100"}});
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  RedisConnection admin(RedisConnection::Options{*ParseRedisUrl(stack.redis_url())});
  // Pending since 1970, with no record: what an expired record leaves behind.
  ASSERT_TRUE(admin.Command({"ZADD", "bq:pending", "1", "ghost"}));
  ASSERT_TRUE(WaitFor([&] {
    auto score = admin.Command({"ZSCORE", "bq:pending", "ghost"});
    return score && score->kind == RedisReply::Kind::kNil;
  })) << stack.Logs();
}

}  // namespace
}  // namespace batchq::test
