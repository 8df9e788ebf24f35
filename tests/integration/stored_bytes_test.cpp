// A tenant's stored bytes with real processes: the account in Redis follows every
// record from creation through its ending to its expiry, written by each role under its
// own ACL user, and the gateway refuses a tenant whose jobs, finished ones included,
// hold its cap, while other tenants and keys with a cap of their own go on.
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/job_store.h"
#include "common/redis_connection.h"
#include "tests/support/role_stores.h"
#include "tests/support/stack.h"

namespace batchq::test {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t kOverhead = JobStore::kRecordOverheadBytes;

NewJob Job(const std::string& tenant, std::size_t input_bytes) {
  // The clock alone repeats itself: two jobs made in one microsecond shared an id.
  static int made = 0;
  NewJob job;
  job.id = fmt::format("acct-{}-{}-{}", tenant, NowWallMicros().count(), ++made);
  job.type = "upper";
  job.tenant = tenant;
  job.input = std::string(input_bytes, 'x');
  job.created = NowWallMicros();
  return job;
}

std::uint64_t Held(JobStore& store, const std::string& tenant, WallMicros at = NowWallMicros()) {
  auto held = store.ReadStoredBytes(tenant, at);
  if (!held) throw std::runtime_error(held.error().message);
  return held->bytes;
}

TEST(StoredBytesTest, TheAccountFollowsEachRecordFromCreationToExpiry) {
  Stack stack(StackOptions{.workers = 0});
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  RoleStores roles(stack);
  auto& [gateway_redis, broker_redis, worker_redis, gateway, broker, worker] = roles;

  std::vector<NewJob> jobs;
  for (int i = 0; i < 3; ++i) jobs.push_back(Job("acme", 1000));
  ASSERT_TRUE(gateway.Create(jobs));
  EXPECT_EQ(Held(gateway, "acme"), 3 * (1000 + kOverhead));
  const NewJob claimed = Job("acme", 100);
  ASSERT_TRUE(gateway.Create(std::span(&claimed, 1), IdempotencyClaim{"acme:k1", "f"}));
  EXPECT_EQ(Held(gateway, "acme"), 3 * (1000 + kOverhead) + 100 + kOverhead);
  EXPECT_EQ(Held(gateway, "other"), 0u);
  auto before = gateway.ReadStoredBytes("acme", NowWallMicros());
  ASSERT_TRUE(before);
  EXPECT_GT(before->next_release, std::chrono::duration_cast<std::chrono::seconds>(
                                      NowWallMicros() + std::chrono::hours(24 * 2)))
      << "an unfinished record is kept for its longest possible life";

  // A worker finishes the first: its result joins the account, under the worker's user.
  // It runs a batch of the stack's broker, the active one: under that broker's epoch.
  const std::uint64_t epoch = roles.Epoch();
  const JobClaim run{jobs[0].id, 1};
  ASSERT_TRUE(
      worker.Start(BatchStart{"b1", 1, "w1", NowWallMicros(), NowWallMicros(), "full", epoch},
                   std::span(&run, 1)));
  JobOutcome outcome{.id = jobs[0].id, .attempt = 1, .succeeded = true};
  outcome.result = std::string(2000, 'R');
  auto finished = worker.Finish(std::span(&outcome, 1));
  ASSERT_TRUE(finished) << finished.error().message;
  ASSERT_EQ((*finished)[0].kind, FinishMark::Kind::kWritten);
  const std::uint64_t after_finish = Held(gateway, "acme");
  EXPECT_GE(after_finish, 3 * (1000 + kOverhead) + 100 + kOverhead + 2000);
  EXPECT_LT(after_finish, 3 * (1000 + kOverhead) + 100 + kOverhead + 2000 + 64)
      << "the outcome's other fields are a few bytes";

  // The gateway withdraws the fourth and cancels the third; the broker expires the
  // second, the last of its creation minute, which leaves that minute empty (dropped
  // under the broker's user).
  const std::uint64_t before_remove = Held(gateway, "acme");
  ASSERT_TRUE(gateway.Remove(std::span(&claimed.id, 1)));
  EXPECT_EQ(Held(gateway, "acme"), before_remove - 100 - kOverhead);
  JobStatus status;
  ASSERT_EQ(gateway.Cancel(jobs[2].id, "test", &status), CancelOutcome::kCancelled);
  auto expired = broker.Terminate(std::span(&jobs[1].id, 1), JobStatus::kExpired,
                                  ErrorCode::kExpired, "too late", epoch);
  ASSERT_TRUE(expired) << expired.error().message;
  ASSERT_TRUE((*expired)[0]) << stack.Logs();

  // Every remaining record now expires with its result TTL (a day by default); a minute
  // after that the account is empty.
  auto ended = gateway.ReadStoredBytes("acme", NowWallMicros());
  ASSERT_TRUE(ended);
  EXPECT_LE(ended->next_release, std::chrono::duration_cast<std::chrono::seconds>(
                                     NowWallMicros() + std::chrono::hours(24) + 2min));
  EXPECT_GT(Held(gateway, "acme", NowWallMicros() + std::chrono::hours(24) - 1min), 0u);
  EXPECT_EQ(Held(gateway, "acme", NowWallMicros() + std::chrono::hours(24) + 2min), 0u);
  auto empty = gateway.ReadStoredBytes("acme", NowWallMicros());
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->next_release, 0s) << "nothing is left to release";
}

std::string Upper(std::size_t bytes) {
  return fmt::format(R"({{"type":"upper","input":"{}"}})", std::string(bytes, 'k'));
}

TEST(StoredBytesTest, FinishedJobsCountAgainstTheTenantsCapAndOtherTenantsGoOn) {
  Stack stack(StackOptions{
      .workers = 1,
      .gateway_args = {"--tenant-max-stored-bytes", "20000", "--stored-bytes-refresh-ms", "0"}});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto heavy = stack.Client(stack.CreateKey("heavy", "submit,read"));
  // Each job holds its 4 kB input, then as much again of result: two fit in 20,000
  // bytes, and a third's input would not. Counting inputs alone would admit it.
  for (int i = 0; i < 2; ++i) {
    auto accepted = heavy->PostJson("/v1/jobs", Upper(4000));
    ASSERT_TRUE(accepted);
    ASSERT_EQ(accepted->status, 202) << accepted->body;
    const std::string done = WaitTerminal(*heavy, JsonString(accepted->body, "id"));
    ASSERT_EQ(JsonString(done, "status"), "succeeded") << done << stack.Logs();
  }
  auto refused = heavy->PostJson("/v1/jobs", Upper(4000));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 429) << refused->body;
  EXPECT_EQ(JsonString(refused->body, "error", "code"), "quota_exceeded") << refused->body;
  EXPECT_NE(JsonString(refused->body, "error", "message").find("finished ones included"),
            std::string::npos)
      << refused->body;
  const std::string retry_after = refused->Header("Retry-After");
  ASSERT_FALSE(retry_after.empty());
  EXPECT_GT(std::stoll(retry_after), 3600) << "the results expire in a day";
  auto small = heavy->PostJson("/v1/jobs", Upper(10));
  ASSERT_TRUE(small);
  EXPECT_EQ(small->status, 202) << "a small job still fits: " << small->body;

  auto light = stack.Client(stack.CreateKey("light", "submit,read"));
  auto other = light->PostJson("/v1/jobs", Upper(4000));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 202) << other->body;

  // A key's own cap replaces the gateway's default.
  auto big = stack.Client(stack.CreateKey("big", "submit,read", R"("max_stored_bytes":100000)"));
  for (int i = 0; i < 6; ++i) {
    auto accepted = big->PostJson("/v1/jobs", Upper(4000));
    ASSERT_TRUE(accepted);
    EXPECT_EQ(accepted->status, 202) << i << ": " << accepted->body;
  }
}

}  // namespace
}  // namespace batchq::test
