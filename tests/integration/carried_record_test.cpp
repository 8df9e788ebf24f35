// The finish script's carried records (job_change.h) on a real Redis, run under the
// worker's ACL user as workers run it: before its plain changes it publishes the whole
// ended record of each job small enough, and the record parsed from the notice is the
// one a read of Redis gives, escapes and all. A record past the bound is not carried.
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/job_change.h"
#include "common/job_store.h"
#include "common/redis_connection.h"
#include "tests/support/stack.h"

namespace batchq::test {
namespace {

using namespace std::chrono_literals;

NewJob Job(std::string input) {
  static int made = 0;
  NewJob job;
  job.id = fmt::format("carried-{}-{}", NowWallMicros().count(), ++made);
  job.type = "upper";
  job.tenant = "acme";
  job.input = std::move(input);
  job.created = NowWallMicros();
  return job;
}

// The messages of `subscriber` until one holds a plain (not carried) change to a status
// `wanted` accepts; the ones before it that hold no such change are dropped (the
// notices of the creation and the start).
template <class Wanted>
std::vector<std::string> MessagesUntilPlainChange(RedisConnection& subscriber, Wanted wanted) {
  std::vector<std::string> messages;
  for (int i = 0; i < 50; ++i) {
    auto message = subscriber.NextMessage(200ms);
    if (!message) throw std::runtime_error(message.error().message);
    if (!*message) continue;
    const auto changes = ParseJobChanges(**message);
    if (changes.empty() || !wanted(changes.front().status)) continue;
    messages.push_back(**message);
    if (!changes.front().record) return messages;
  }
  return messages;
}

TEST(CarriedRecordTest, TheFinishScriptCarriesEachSmallEndedRecordAsARedisReadGivesIt) {
  Stack stack(StackOptions{.workers = 0});
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  RedisConnection gateway_redis = RoleRedis(stack, "gateway");
  RedisConnection broker_redis = RoleRedis(stack, "broker");
  RedisConnection worker_redis = RoleRedis(stack, "worker");
  RedisConnection subscriber = RoleRedis(stack, "gateway");
  ASSERT_TRUE(subscriber.Subscribe("bq:done"));
  JobStore gateway(gateway_redis, {});
  JobStore worker(worker_redis, {});

  // Every byte the escapes must carry, in the input and in each outcome.
  const std::string awkward = "tab\there\nnewline\\backslash\\n not an escape\r\n";
  std::vector<NewJob> jobs = {Job(awkward), Job("x"), Job("y")};
  ASSERT_TRUE(gateway.Create(jobs));
  auto epoch_text = broker_redis.Command({"GET", JobStore(broker_redis, {}).epoch_key()});
  ASSERT_TRUE(epoch_text && epoch_text->kind == RedisReply::Kind::kString);
  std::vector<JobClaim> runs;
  for (const auto& job : jobs) runs.push_back({job.id, 1});
  ASSERT_TRUE(worker.Start(BatchStart{"b1", 3, "w1", NowWallMicros(), NowWallMicros(), "full",
                                      std::stoull(epoch_text->str)},
                           runs));
  // Drains the notices up to the start's, so the next ones are the finish's.
  ASSERT_FALSE(MessagesUntilPlainChange(subscriber, [](JobStatus status) {
                 return status == JobStatus::kRunning;
               }).empty());

  std::vector<JobOutcome> outcomes(3);
  outcomes[0] = {.id = jobs[0].id, .attempt = 1, .succeeded = true};
  outcomes[0].result = "\"" + std::string("A\\tB\\\\C") + "\"\t\n";
  outcomes[1] = {.id = jobs[1].id, .attempt = 1, .succeeded = false};
  outcomes[1].error_code = ErrorCode::kHandlerError;
  outcomes[1].error_message = "failed\non two lines\twith a tab";
  outcomes[2] = {.id = jobs[2].id, .attempt = 1, .succeeded = true};
  outcomes[2].result = "\"" + std::string(kMaxCarriedRecordBytes, 'R') + "\"";
  auto finished = worker.Finish(outcomes);
  ASSERT_TRUE(finished) << finished.error().message;

  const auto messages = MessagesUntilPlainChange(subscriber, IsTerminal);
  ASSERT_EQ(messages.size(), 2u) << "one message of carried records, then the changes: "
                                 << (messages.empty() ? "" : messages[0]);
  const auto carried = ParseJobChanges(messages[0]);
  ASSERT_EQ(carried.size(), 2u) << "the large record is not carried: " << messages[0].size();
  EXPECT_EQ(std::count(messages[0].begin(), messages[0].end(), '\n'), 1)
      << "no raw newline of a value reaches the message";
  const auto plain = ParseJobChanges(messages[1]);
  ASSERT_EQ(plain.size(), 3u) << "every ending is still published as a plain change";
  for (const auto& change : plain) EXPECT_EQ(change.record, nullptr);

  for (std::size_t i = 0; i < carried.size(); ++i) {
    const JobChange& change = carried[i];
    ASSERT_NE(change.record, nullptr);
    EXPECT_EQ(change.id, jobs[i].id);
    EXPECT_TRUE(IsTerminal(change.status));
    auto read = gateway.Get(change.id);
    ASSERT_TRUE(read && *read);
    for (const auto& spec : kRecordSchema) {
      EXPECT_EQ(FieldText(*change.record, spec.field), FieldText(**read, spec.field))
          << change.id << " field " << spec.name;
    }
  }
  EXPECT_EQ(carried[0].record->input, awkward);
  EXPECT_EQ(carried[0].record->status, JobStatus::kSucceeded);
  EXPECT_EQ(carried[1].record->error_message, outcomes[1].error_message);
}

}  // namespace
}  // namespace batchq::test
