// The webhook deliveries the ending scripts queue, with each process's own Redis user: a
// job with a callback_url gets one delivery when it ends, whoever ends it (its worker's
// result, a cancel, the broker's expiry); a job without one gets none.
#include <map>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/job_store.h"
#include "common/redis_connection.h"
#include "common/webhook_store.h"
#include "tests/support/role_stores.h"
#include "tests/support/stack.h"

namespace batchq::test {
namespace {

NewJob Job(const std::string& callback_url) {
  static int made = 0;
  NewJob job;
  job.id = fmt::format("hook-{}-{}", NowWallMicros().count(), ++made);
  job.type = "upper";
  job.tenant = "acme";
  job.input = "\"x\"";
  job.created = NowWallMicros();
  job.callback_url = callback_url;
  job.webhook_key = callback_url.empty() ? "" : "0123456789ab";
  return job;
}

TEST(WebhookQueueTest, EveryEndingOfAJobWithACallbackQueuesOneDelivery) {
  // No senders in the stack's gateway: the deliveries stay as queued, for this test to read.
  Stack stack(StackOptions{.workers = 0, .gateway_args = {"--webhook-senders", "0"}});
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  RoleStores roles(stack);
  auto& [gateway_redis, broker_redis, worker_redis, gateway, broker, worker] = roles;
  const std::uint64_t epoch = roles.Epoch();

  const NewJob finished = Job("http://127.0.0.1:9/in");
  const NewJob cancelled = Job("http://127.0.0.1:9/in");
  const NewJob expired = Job("http://127.0.0.1:9/in");
  const NewJob silent = Job("");
  for (const NewJob* job : {&finished, &cancelled, &expired, &silent}) {
    ASSERT_TRUE(gateway.Create(std::span(job, 1)));
  }
  const JobClaim claims[] = {{finished.id, 1}, {silent.id, 1}};
  ASSERT_TRUE(worker.Start(
      BatchStart{"b", 2, "w1", NowWallMicros(), NowWallMicros(), "full", epoch}, claims));
  JobOutcome outcomes[] = {{.id = finished.id, .attempt = 1, .succeeded = true},
                           {.id = silent.id, .attempt = 1, .succeeded = true}};
  outcomes[0].result = outcomes[1].result = "\"X\"";
  ASSERT_TRUE(worker.Finish(outcomes));
  JobStatus status{};
  ASSERT_TRUE(gateway.Cancel(cancelled.id, "k", &status));
  const std::string expired_ids[] = {expired.id};
  ASSERT_TRUE(
      broker.Terminate(expired_ids, JobStatus::kExpired, ErrorCode::kExpired, "late", epoch));

  auto due = gateway_redis.Command({"ZRANGEBYSCORE", "bq:webhook:due", "-inf", "+inf"});
  ASSERT_TRUE(due && due->kind == RedisReply::Kind::kArray);
  std::vector<std::string> deliveries;
  for (const auto& element : due->elements) deliveries.push_back(element.str);
  std::sort(deliveries.begin(), deliveries.end());
  std::vector<std::string> expected = {finished.id + ".1", cancelled.id + ".0", expired.id + ".0"};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(deliveries, expected) << "one each, none for the job without a callback_url";
  auto delivery = gateway_redis.Command({"HGETALL", "bq:webhook:" + finished.id + ".1"});
  ASSERT_TRUE(delivery && delivery->elements.size() >= 8);
  std::map<std::string, std::string> fields;
  for (std::size_t i = 0; i + 1 < delivery->elements.size(); i += 2) {
    fields[delivery->elements[i].str] = delivery->elements[i + 1].str;
  }
  EXPECT_EQ(fields["job"], finished.id);
  EXPECT_EQ(fields["tenant"], "acme");
  EXPECT_EQ(fields["state"], "pending");
}

TEST(WebhookQueueTest, TheGatewayClaimsDueDeliveriesOnceAndRecordsEachVerdict) {
  // The stack's own gateway sends no webhooks: its senders would race this test's claims
  // for the same due deliveries (seen once under ASan: 2 of 3 left to claim).
  Stack stack(StackOptions{.workers = 0, .gateway_args = {"--webhook-senders", "0"}});
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  RedisConnection gateway_redis = RoleRedis(stack, "gateway");
  JobStore jobs(gateway_redis, {});
  WebhookStore hooks(gateway_redis, "bq:");
  std::vector<NewJob> made;
  for (int i = 0; i < 3; ++i) made.push_back(Job("http://127.0.0.1:9/in"));
  for (const NewJob& job : made) ASSERT_TRUE(jobs.Create(std::span(&job, 1)));
  auto stored = jobs.ReadStoredBytes("acme", NowWallMicros());
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->bytes,
            3 * (3 + std::string("http://127.0.0.1:9/in").size() + JobStore::kRecordOverheadBytes))
      << "the URL is charged to the tenant like the input";
  for (const NewJob& job : made) {
    JobStatus status{};
    ASSERT_TRUE(jobs.Cancel(job.id, "k", &status));  // an ending that queues its webhook
  }
  const WallMicros now = NowWallMicros() + std::chrono::seconds(1);
  auto claimed = hooks.ClaimDue(now, std::chrono::seconds(30), 10);
  ASSERT_TRUE(claimed) << claimed.error().message;
  ASSERT_EQ(claimed->size(), 3u);
  EXPECT_EQ((*claimed)[0].tenant, "acme");
  EXPECT_EQ((*claimed)[0].tries, 0u);
  auto again = hooks.ClaimDue(now, std::chrono::seconds(30), 10);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty()) << "leased: no one else takes them meanwhile";

  ASSERT_TRUE(hooks.MarkDelivered((*claimed)[0], now));
  ASSERT_TRUE(hooks.RetryLater((*claimed)[1], 1, "503", now + std::chrono::seconds(5)));
  ASSERT_TRUE(hooks.MarkFailed((*claimed)[2], 8, "refused", now));
  auto later = hooks.ClaimDue(now + std::chrono::seconds(6), std::chrono::seconds(30), 10);
  ASSERT_TRUE(later);
  ASSERT_EQ(later->size(), 1u) << "only the retry comes back";
  EXPECT_EQ((*later)[0].id, (*claimed)[1].id);
  EXPECT_EQ((*later)[0].tries, 1u);
  auto failed = hooks.Failed("acme", 10);
  ASSERT_TRUE(failed);
  ASSERT_EQ(failed->size(), 1u);
  EXPECT_EQ((*failed)[0].id, (*claimed)[2].id);
  EXPECT_EQ((*failed)[0].job_id, (*claimed)[2].job_id);
  EXPECT_EQ((*failed)[0].state, "failed");
  EXPECT_EQ((*failed)[0].tries, 8u);
  EXPECT_EQ((*failed)[0].last_error, "refused");
  EXPECT_EQ((*failed)[0].updated_us, now.count());
  RedisConnection admin(RedisConnection::Options{*ParseRedisUrl(stack.redis_url())});
  auto ttl = admin.Command({"TTL", hooks.DeliveryKey((*claimed)[2].id)});
  EXPECT_GT(ttl->integer, 0) << "a dead delivery expires with the job it names";
  EXPECT_TRUE(hooks.Failed("other", 10)->empty()) << "each tenant sees its own";
  EXPECT_FALSE(*hooks.Resend("other", (*claimed)[2].id, now)) << "not another tenant's";
  EXPECT_TRUE(*hooks.Resend("acme", (*claimed)[2].id, now));
  EXPECT_FALSE(*hooks.Resend("acme", (*claimed)[2].id, now)) << "it is no longer dead";
  EXPECT_EQ(admin.Command({"TTL", hooks.DeliveryKey((*claimed)[2].id)})->integer, -1)
      << "a re-sent delivery is kept until its verdict";
  auto resent = hooks.ClaimDue(now + std::chrono::seconds(1), std::chrono::seconds(30), 10);
  ASSERT_TRUE(resent);
  ASSERT_EQ(resent->size(), 1u);
  EXPECT_EQ((*resent)[0].tries, 0u);
}

}  // namespace
}  // namespace batchq::test
