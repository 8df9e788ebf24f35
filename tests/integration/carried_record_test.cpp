// The finish script's carried records (job_change.h) on a real Redis, run under the
// worker's ACL user as workers run it: before its plain changes it publishes the ended
// record of each job small enough, and the record parsed from the notice is the one a
// read of Redis gives (its carried fields), escapes and all. A record past the bound is
// not carried; a large input does not count, since it is not carried. A field a record
// leaves out (an empty result or error, a zero number) reads, and is carried, as before.
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/job_change.h"
#include "common/job_store.h"
#include "common/redis_connection.h"
#include "tests/support/role_stores.h"
#include "tests/support/stack.h"

namespace batchq::test {
namespace {

using namespace std::chrono_literals;

// A fixed wall time, so that a carried record's times are known to the microsecond.
constexpr WallMicros kFixedTime{1'700'000'000'000'000};

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
// `wanted` accepts; the ones before it that hold no such change are dropped.
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
    if (changes.front().carried.empty()) return messages;
  }
  return messages;
}

// The carried records of the next ending: one message of them, then one of plain changes.
void NextCarried(RedisConnection& subscriber, std::vector<JobChange>& carried) {
  const auto messages = MessagesUntilPlainChange(subscriber, IsTerminal);
  ASSERT_EQ(messages.size(), 2u) << "one message of carried records, then the changes";
  carried = ParseJobChanges(messages[0]);
}

// A failed outcome of `job`'s first attempt.
JobOutcome Failure(const NewJob& job, ErrorCode code, std::string message) {
  return JobOutcome{
      .id = job.id, .attempt = 1, .error_code = code, .error_message = std::move(message)};
}

// Whether the record of `job` holds `field` at all, empty or not.
bool HoldsField(RedisConnection& admin, const NewJob& job, std::string_view field) {
  auto reply = admin.Command({"HEXISTS", "bq:job:" + job.id, field});
  if (!reply) throw std::runtime_error(reply.error().message);
  return reply->integer == 1;
}

// Each carried field of the record `change` carries is what a read of Redis gives.
void ExpectCarriedAsRead(JobStore& store, const JobChange& change) {
  const auto record = CarriedRecord(change);
  ASSERT_NE(record, nullptr) << change.carried;
  auto read = store.Get(change.id);
  ASSERT_TRUE(read && *read);
  for (const RecordField field : kCarriedFields) {
    EXPECT_EQ(FieldText(*record, field), FieldText(**read, field))
        << change.id << " field " << FieldName(field);
  }
}

// Each test's stack, without workers: the roles' stores, and a subscriber to bq:done under
// the gateway's ACL user, as the gateway's listener has one. Built in this order.
struct StoresAndSubscriber {
  Stack stack{StackOptions{.workers = 0}};
  const bool ready = stack.WaitReady(0);
  RoleStores roles{stack};
  RedisConnection subscriber = RoleRedis(stack, "gateway");
  const bool subscribed = subscriber.Subscribe("bq:done").has_value();
};

class CarriedRecordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(parts_.ready) << parts_.stack.Logs();
    ASSERT_TRUE(parts_.subscribed);
  }

  StoresAndSubscriber parts_;
  RoleStores& roles = parts_.roles;
  RedisConnection& subscriber = parts_.subscriber;
};

TEST_F(CarriedRecordTest, TheFinishScriptCarriesEachSmallEndedRecordAsARedisReadGivesIt) {
  auto& [gateway_redis, broker_redis, worker_redis, gateway, broker, worker] = roles;

  // Each byte the escapes must carry, alone in one outcome and all in another; the
  // first job's large input does not keep its record from being carried.
  const std::string awkward = "tab\there\nnewline\\backslash\\n not an escape\r\n";
  std::vector<NewJob> jobs = {Job(std::string(2 * kMaxCarriedRecordBytes, 'i')), Job("x"), Job("y"),
                              Job("z"), Job("big")};
  ASSERT_TRUE(gateway.Create(jobs));
  std::vector<JobClaim> runs;
  for (const auto& job : jobs) runs.push_back({job.id, 1});
  ASSERT_TRUE(worker.Start(
      BatchStart{"b1", 5, "w1", NowWallMicros(), NowWallMicros(), "full", roles.Epoch()}, runs));
  // The creation's and the start's notices went to bq:progress, so the first ones on
  // bq:done are the finish's.

  std::vector<JobOutcome> outcomes(jobs.size());
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    outcomes[i] = {.id = jobs[i].id, .attempt = 1, .succeeded = true};
  }
  outcomes[0].result = R"("backslashes only: A\tB\\C")";
  outcomes[1].succeeded = false;
  outcomes[1].error_code = ErrorCode::kHandlerError;
  outcomes[1].error_message = "failed: " + awkward;
  outcomes[2].result = "\"a tab only:\t\"";
  outcomes[3].result = "\"a newline only:\n\"";
  outcomes[4].result = "\"" + std::string(kMaxCarriedRecordBytes, 'R') + "\"";
  auto finished = worker.Finish(outcomes);
  ASSERT_TRUE(finished) << finished.error().message;

  const auto messages = MessagesUntilPlainChange(subscriber, IsTerminal);
  ASSERT_EQ(messages.size(), 2u) << "one message of carried records, then the changes: "
                                 << (messages.empty() ? "" : messages[0]);
  const auto carried = ParseJobChanges(messages[0]);
  ASSERT_EQ(carried.size(), 4u) << "the large record is not carried: " << messages[0].size();
  EXPECT_EQ(std::count(messages[0].begin(), messages[0].end(), '\n'), 3)
      << "no raw newline of a value reaches the message";
  const auto plain = ParseJobChanges(messages[1]);
  ASSERT_EQ(plain.size(), jobs.size()) << "every ending is still published as a plain change";
  for (const auto& change : plain) EXPECT_TRUE(change.carried.empty());

  for (std::size_t i = 0; i < carried.size(); ++i) {
    const JobChange& change = carried[i];
    EXPECT_EQ(change.id, jobs[i].id);
    EXPECT_TRUE(IsTerminal(change.status));
    ExpectCarriedAsRead(gateway, change);
    EXPECT_TRUE(CarriedRecord(change)->input.empty()) << "the input is not carried";
  }
  EXPECT_EQ(CarriedRecord(carried[0])->status, JobStatus::kSucceeded);
  EXPECT_EQ(CarriedRecord(carried[1])->error_message, outcomes[1].error_message);
  for (const std::size_t i : {0, 2, 3}) {
    EXPECT_EQ(CarriedRecord(carried[i])->result, outcomes[i].result);
  }
}

// A batch claimed at write (claim_timing.h) has its start written with its ending: the
// carried record must hold that start too (worker, batch, attempt), as a read gives it.
TEST_F(CarriedRecordTest, AJobClaimedAtWriteCarriesItsStartAsARedisReadGivesIt) {
  auto& [gateway_redis, broker_redis, worker_redis, gateway, broker, worker] = roles;

  std::vector<NewJob> jobs = {Job("x"), Job("y")};
  ASSERT_TRUE(gateway.Create(jobs));
  const BatchStart start{"b7", 2, "w3", kFixedTime, kFixedTime + 100us, "full", roles.Epoch()};
  std::vector<JobOutcome> outcomes = {
      {.id = jobs[0].id, .attempt = 1, .succeeded = true, .result = "\"X\""},
      Failure(jobs[1], ErrorCode::kHandlerError, "no")};
  auto finished = worker.Finish(outcomes, &start);
  ASSERT_TRUE(finished) << finished.error().message;

  std::vector<JobChange> carried;
  ASSERT_NO_FATAL_FAILURE(NextCarried(subscriber, carried));
  ASSERT_EQ(carried.size(), jobs.size());
  for (std::size_t i = 0; i < carried.size(); ++i) {
    ExpectCarriedAsRead(gateway, carried[i]);
    const auto record = CarriedRecord(carried[i]);
    ASSERT_NE(record, nullptr);
    EXPECT_EQ(record->worker, "w3");
    EXPECT_EQ(record->batch_id, "b7");
    EXPECT_EQ(record->batch_size, 2u);
    EXPECT_EQ(record->attempts, 1u);
    EXPECT_EQ(record->started, start.started);
    EXPECT_EQ(record->dispatched, start.dispatched);
  }
}

// A finish of many jobs carries their records 100 to a message, in the order of its
// outcomes, all before the plain changes. A record whose own fields (here a callback URL)
// take it past the bound, though the worker's text is small, is left out of its message
// and the records after it still come whole.
TEST_F(CarriedRecordTest, ManyEndingsAreCarriedAHundredToAMessageInTheirOrder) {
  auto& [gateway_redis, broker_redis, worker_redis, gateway, broker, worker] = roles;

  constexpr std::size_t kJobs = 250;
  constexpr std::size_t kTooLarge = 120;
  std::vector<NewJob> jobs;
  for (std::size_t i = 0; i < kJobs; ++i) jobs.push_back(Job("j"));
  jobs[kTooLarge].callback_url =
      "https://hooks.example/" + std::string(kMaxCarriedRecordBytes, 'p');
  ASSERT_TRUE(gateway.Create(jobs));
  std::vector<JobClaim> runs;
  std::vector<JobOutcome> outcomes;
  for (const auto& job : jobs) {
    runs.push_back({job.id, 1});
    outcomes.push_back({.id = job.id, .attempt = 1, .succeeded = true, .result = "\"ok\""});
  }
  ASSERT_TRUE(worker.Start(
      BatchStart{"b9", kJobs, "w9", NowWallMicros(), NowWallMicros(), "full", roles.Epoch()},
      runs));
  auto finished = worker.Finish(outcomes);
  ASSERT_TRUE(finished) << finished.error().message;

  const auto messages = MessagesUntilPlainChange(subscriber, IsTerminal);
  ASSERT_EQ(messages.size(), 4u) << "three messages of carried records, then the changes";
  std::vector<std::string> carried_ids;
  const std::vector<std::size_t> sizes = {100, 100, kJobs - 1 - 200};
  for (std::size_t m = 0; m < 3; ++m) {
    const auto carried = ParseJobChanges(messages[m]);
    EXPECT_EQ(carried.size(), sizes[m]) << "message " << m;
    for (const JobChange& change : carried) {
      const auto record = CarriedRecord(change);
      ASSERT_NE(record, nullptr) << change.carried;
      EXPECT_EQ(record->result, "\"ok\"") << change.id;
      EXPECT_EQ(record->worker, "w9") << change.id;
      carried_ids.push_back(change.id);
    }
  }
  std::vector<std::string> expected_ids;
  for (std::size_t i = 0; i < kJobs; ++i) {
    if (i != kTooLarge) expected_ids.push_back(jobs[i].id);
  }
  EXPECT_EQ(carried_ids, expected_ids);
  EXPECT_EQ(ParseJobChanges(messages[3]).size(), kJobs)
      << "every ending is still published as a plain change";
}

// The carried record's values come from three places (job_change.h): the worker's text
// of what the ending writes, the start's text when it claims, and the record for the
// rest. A job with every field a submit may set, ended claimed at write with a binary
// result after a retried first attempt (history, retries, retry_at), one claimed at
// write from a worker declared lost, and one ended without a blob whose record the start
// wrote earlier: each carried field must be what a read gives.
TEST_F(CarriedRecordTest, EachFieldComesFromTheEndingTheStartOrTheRecordAsARedisReadGivesIt) {
  auto& [gateway_redis, broker_redis, worker_redis, gateway, broker, worker] = roles;

  std::vector<NewJob> jobs = {Job("x"), Job("y"), Job("z")};
  jobs[0].priority = 7;
  jobs[0].timeout_ms = 90000;
  jobs[0].max_retries = 2;
  jobs[0].retry_backoff_ms = 1;
  jobs[0].callback_url = "https://hooks.example/done?a=1\tb";
  ASSERT_TRUE(gateway.Create(jobs));
  const BatchStart first{"b1", 2, "w1", NowWallMicros(), NowWallMicros(), "full", roles.Epoch()};
  ASSERT_TRUE(worker.Start(
      first, std::vector<JobClaim>{{jobs[0].id, 1}, {jobs[1].id, 1}, {jobs[2].id, 1}}));
  auto retried = worker.Finish(
      std::vector<JobOutcome>{Failure(jobs[0], ErrorCode::kTransientError, "once\tmore")});
  ASSERT_TRUE(retried) << retried.error().message;
  ASSERT_EQ(retried->size(), 1u);
  ASSERT_EQ(retried->front().kind, FinishMark::Kind::kRetrying)
      << "the first attempt's failure is retried";

  const BatchStart second{"b2",         1, "w2\\x", NowWallMicros(), NowWallMicros(), "idle_worker",
                          roles.Epoch()};
  auto claimed = worker.Finish(
      std::vector<JobOutcome>{
          {.id = jobs[0].id,
           .attempt = 2,
           .succeeded = true,
           .result = "\"\"",
           .blob = std::string("\x89PNG\0\n", 6),
           .content_type = "image/png",
           .launched = NowWallMicros()},
          // Its first worker declared lost.
          {.id = jobs[2].id, .attempt = 2, .succeeded = true, .result = "\"Z\""}},
      &second);
  ASSERT_TRUE(claimed) << claimed.error().message;
  auto owned = worker.Finish(std::vector<JobOutcome>{
      {.id = jobs[1].id, .attempt = 1, .succeeded = true, .result = "\"Y\""}});
  ASSERT_TRUE(owned) << owned.error().message;

  std::vector<JobChange> carried;
  for (int i = 0; i < 2; ++i) {
    std::vector<JobChange> ending;
    ASSERT_NO_FATAL_FAILURE(NextCarried(subscriber, ending));
    for (auto& change : ending) carried.push_back(std::move(change));
  }
  ASSERT_EQ(carried.size(), 3u);
  for (const JobChange& change : carried) ExpectCarriedAsRead(gateway, change);
  const auto retried_record = CarriedRecord(carried[0]);
  const auto reclaimed_record = CarriedRecord(carried[1]);
  const auto owned_record = CarriedRecord(carried[2]);
  const JobRecord& retried_job = *retried_record;
  EXPECT_EQ(retried_job.attempts, 2u);
  EXPECT_EQ(retried_job.retries, 1u);
  EXPECT_FALSE(retried_job.history.empty()) << "the first attempt is in the history";
  EXPECT_EQ(retried_job.result_type, "image/png");
  EXPECT_EQ(retried_job.worker, "w2\\x");
  EXPECT_EQ(retried_job.callback_url, jobs[0].callback_url);
  EXPECT_EQ(retried_job.priority, 7);
  EXPECT_EQ(reclaimed_record->worker, "w2\\x") << "the claim's start, not the lost one's";
  EXPECT_EQ(reclaimed_record->batch_id, "b2");
  EXPECT_EQ(reclaimed_record->attempts, 2u);
  const JobRecord& owned_job = *owned_record;
  EXPECT_EQ(owned_job.worker, "w1") << "the start the record holds";
  EXPECT_EQ(owned_job.batch_id, "b1");
  EXPECT_TRUE(owned_job.result_type.empty());
}

// The creation's carried text (job_change.h): a new record holds it (zeros left out, and
// none past kMaxCreationCarriedBytes), and each script that writes a carried field the
// record lacked at creation deletes it: a cancel (cancelled_by), POST :retry (history,
// retries) and a retried failure (the same). With it or without it, an ended record is
// carried as a read gives it.
TEST_F(CarriedRecordTest, ARecordHoldsItsCreationsCarriedTextUntilItGetsAFieldItLacked) {
  auto& [gateway_redis, broker_redis, worker_redis, gateway, broker, worker] = roles;
  RedisConnection admin(RedisConnection::Options{*ParseRedisUrl(parts_.stack.redis_url())});
  auto creation_text = [&](const NewJob& job) -> std::optional<std::string> {
    auto reply = admin.Command({"HGET", "bq:job:" + job.id, kCreationCarriedField});
    if (!reply) throw std::runtime_error(reply.error().message);
    if (reply->kind != RedisReply::Kind::kString) return std::nullopt;
    return reply->str;
  };

  std::vector<NewJob> jobs = {Job("plain"), Job("set"), Job("long url"), Job("cancelled"),
                              Job("failed")};
  jobs[1].priority = -3;
  jobs[1].max_retries = 1;
  jobs[1].retry_backoff_ms = 1;
  jobs[2].callback_url = "https://hooks.example/" + std::string(kMaxCreationCarriedBytes, 'u');
  ASSERT_TRUE(gateway.Create(jobs));
  EXPECT_EQ(creation_text(jobs[0]), fmt::format("\tcreated_us={}", jobs[0].created.count()))
      << "a zero reads back as its absence does, so it is left out";
  EXPECT_EQ(creation_text(jobs[1]),
            fmt::format("\tpriority=-3\tcreated_us={}\tmax_retries=1", jobs[1].created.count()));
  EXPECT_EQ(creation_text(jobs[2]), std::nullopt)
      << "a text past the bound would make the record a hash table";

  JobStatus status = JobStatus::kQueued;
  ASSERT_TRUE(gateway.Cancel(jobs[3].id, "acme", &status));
  EXPECT_EQ(creation_text(jobs[3]), std::nullopt) << "the cancel wrote cancelled_by";
  ASSERT_EQ(MessagesUntilPlainChange(subscriber, IsTerminal).size(), 1u) << "the cancel's";
  auto requeued = gateway.Requeue(jobs[3].id, &status);
  ASSERT_TRUE(requeued && *requeued == RequeueOutcome::kQueued);

  ASSERT_TRUE(worker.Start(
      BatchStart{"b1", 2, "w1", NowWallMicros(), NowWallMicros(), "full", roles.Epoch()},
      std::vector<JobClaim>{{jobs[1].id, 1}, {jobs[4].id, 1}}));
  auto first =
      worker.Finish(std::vector<JobOutcome>{Failure(jobs[1], ErrorCode::kTransientError, "again"),
                                            Failure(jobs[4], ErrorCode::kHandlerError, "no")});
  ASSERT_TRUE(first && first->size() == 2u);
  ASSERT_EQ(first->front().kind, FinishMark::Kind::kRetrying);
  EXPECT_EQ(creation_text(jobs[1]), std::nullopt) << "the retry wrote retries and history";
  EXPECT_TRUE(creation_text(jobs[4])) << "an ending writes no field the record lacked";
  ASSERT_EQ(MessagesUntilPlainChange(subscriber, IsTerminal).size(), 2u) << "the failure's";
  requeued = gateway.Requeue(jobs[4].id, &status);
  ASSERT_TRUE(requeued && *requeued == RequeueOutcome::kQueued);
  EXPECT_EQ(creation_text(jobs[4]), std::nullopt) << ":retry wrote the history";
  EXPECT_TRUE(creation_text(jobs[0])) << "untouched";

  const BatchStart start{"b2", 5, "w2", NowWallMicros(), NowWallMicros(), "full", roles.Epoch()};
  std::vector<JobOutcome> outcomes;
  for (const auto& job : jobs) {
    outcomes.push_back({.id = job.id,
                        .attempt = job.id == jobs[1].id || job.id == jobs[4].id ? 2u : 1u,
                        .succeeded = true,
                        .result = "\"ok\""});
  }
  auto finished = worker.Finish(outcomes, &start);
  ASSERT_TRUE(finished) << finished.error().message;

  std::vector<JobChange> carried;
  ASSERT_NO_FATAL_FAILURE(NextCarried(subscriber, carried));
  ASSERT_EQ(carried.size(), jobs.size());
  for (const JobChange& change : carried) ExpectCarriedAsRead(gateway, change);
  EXPECT_EQ(CarriedRecord(carried[0])->created, jobs[0].created);
  EXPECT_EQ(CarriedRecord(carried[1])->retries, 1u);
  EXPECT_FALSE(CarriedRecord(carried[1])->history.empty());
  EXPECT_EQ(CarriedRecord(carried[2])->callback_url, jobs[2].callback_url);
  EXPECT_TRUE(CarriedRecord(carried[3])->cancelled_by.empty()) << ":retry cleared it";
  EXPECT_FALSE(CarriedRecord(carried[3])->history.empty());
  EXPECT_FALSE(CarriedRecord(carried[4])->history.empty());
}

// A job its worker claimed before running it (Start, then a finish that names that
// start) carries the start from the finish's call, as a read gives it, with its
// creation's carried text and without it (a callback URL past the bound). The start is
// not read back: given another one (which the worker never does), the carried record
// shows the one given.
TEST_F(CarriedRecordTest, AJobClaimedBeforeItRanCarriesTheStartItsWorkerNamesAsAReadGivesIt) {
  auto& [gateway_redis, broker_redis, worker_redis, gateway, broker, worker] = roles;

  std::vector<NewJob> jobs = {Job("x"), Job("y"), Job("z")};
  jobs[1].callback_url = "https://hooks.example/" + std::string(kMaxCreationCarriedBytes, 'u');
  ASSERT_TRUE(gateway.Create(jobs));
  const BatchStart start{"b4",         3, "w4", kFixedTime, kFixedTime + 200us, "idle_worker",
                         roles.Epoch()};
  ASSERT_TRUE(worker.Start(
      start, std::vector<JobClaim>{{jobs[0].id, 1}, {jobs[1].id, 1}, {jobs[2].id, 1}}));
  auto finished = worker.Finish(
      std::vector<JobOutcome>{{.id = jobs[0].id, .attempt = 1, .succeeded = true, .result = "1"},
                              {.id = jobs[1].id, .attempt = 1, .succeeded = true, .result = "2"}},
      nullptr, &start);
  ASSERT_TRUE(finished) << finished.error().message;
  std::vector<JobChange> carried;
  ASSERT_NO_FATAL_FAILURE(NextCarried(subscriber, carried));
  ASSERT_EQ(carried.size(), 2u);
  for (const JobChange& change : carried) {
    ExpectCarriedAsRead(gateway, change);
    const auto record = CarriedRecord(change);
    ASSERT_NE(record, nullptr);
    EXPECT_EQ(record->worker, "w4");
    EXPECT_EQ(record->batch_id, "b4");
    EXPECT_EQ(record->close_reason, "idle_worker");
    EXPECT_EQ(record->started, start.started);
  }

  BatchStart other = start;
  other.worker = "w5";
  finished = worker.Finish(
      std::vector<JobOutcome>{{.id = jobs[2].id, .attempt = 1, .succeeded = true, .result = "3"}},
      nullptr, &other);
  ASSERT_TRUE(finished) << finished.error().message;
  ASSERT_NO_FATAL_FAILURE(NextCarried(subscriber, carried));
  ASSERT_EQ(carried.size(), 1u);
  ASSERT_NE(CarriedRecord(carried[0]), nullptr);
  EXPECT_EQ(CarriedRecord(carried[0])->worker, "w5") << "the start given, not read back";
  auto read = gateway.Get(jobs[2].id);
  ASSERT_TRUE(read && *read);
  EXPECT_EQ((*read)->worker, "w4") << "and nothing was written from it";
}

// A record's creation text is taken on a first attempt only: a script from before it
// (a rolling upgrade) may have given the record a history and retries without deleting
// it, and the job's next attempt must still carry them as a read gives them.
TEST_F(CarriedRecordTest, ACreationTextAnOlderScriptLeftIsNotTakenPastAFirstAttempt) {
  auto& [gateway_redis, broker_redis, worker_redis, gateway, broker, worker] = roles;
  RedisConnection admin(RedisConnection::Options{*ParseRedisUrl(parts_.stack.redis_url())});

  std::vector<NewJob> jobs = {Job("x")};
  ASSERT_TRUE(gateway.Create(jobs));
  const BatchStart first{"b1", 1, "w1", NowWallMicros(), NowWallMicros(), "full", roles.Epoch()};
  ASSERT_TRUE(worker.Start(first, std::vector<JobClaim>{{jobs[0].id, 1}}));
  // What an older finish script's retry wrote, leaving the creation's text in place.
  ASSERT_TRUE(admin.Command({"HSET", "bq:job:" + jobs[0].id, "history",
                             R"({"attempt":1,"status":"failed"})", "retries", "1"}));
  const auto text = admin.Command({"HEXISTS", "bq:job:" + jobs[0].id, kCreationCarriedField});
  ASSERT_TRUE(text && text->integer == 1);

  const BatchStart second{"b2", 1, "w2", NowWallMicros(), NowWallMicros(), "full", roles.Epoch()};
  auto finished = worker.Finish(
      std::vector<JobOutcome>{{.id = jobs[0].id, .attempt = 2, .succeeded = true, .result = "1"}},
      &second);
  ASSERT_TRUE(finished) << finished.error().message;
  std::vector<JobChange> carried;
  ASSERT_NO_FATAL_FAILURE(NextCarried(subscriber, carried));
  ASSERT_EQ(carried.size(), 1u);
  ExpectCarriedAsRead(gateway, carried[0]);
  ASSERT_NE(CarriedRecord(carried[0]), nullptr);
  EXPECT_EQ(CarriedRecord(carried[0])->retries, 1u);
  EXPECT_FALSE(CarriedRecord(carried[0])->history.empty());
}

// An ending leaves an empty result or error out rather than writing it empty (each field
// an HSET adds costs Redis a scan of the record): a success holds no error, a failure no
// result, and a job that failed, was queued again by :retry and then succeeded holds no
// error of its failure. Each reads, and is carried, as before.
TEST_F(CarriedRecordTest, AnEndingWritesNoEmptyResultOrErrorAndASuccessAfterRetryHoldsNoError) {
  auto& [gateway_redis, broker_redis, worker_redis, gateway, broker, worker] = roles;
  RedisConnection admin(RedisConnection::Options{*ParseRedisUrl(parts_.stack.redis_url())});

  std::vector<NewJob> jobs = {Job("ok"), Job("no")};
  ASSERT_TRUE(gateway.Create(jobs));
  const BatchStart first{"b1", 2, "w1", kFixedTime, kFixedTime + 100us, "full", roles.Epoch()};
  auto finished = worker.Finish(
      std::vector<JobOutcome>{{.id = jobs[0].id, .attempt = 1, .succeeded = true, .result = "1"},
                              Failure(jobs[1], ErrorCode::kHandlerError, "no")},
      &first);
  ASSERT_TRUE(finished) << finished.error().message;
  EXPECT_TRUE(HoldsField(admin, jobs[0], "result"));
  EXPECT_FALSE(HoldsField(admin, jobs[0], "error_code"));
  EXPECT_FALSE(HoldsField(admin, jobs[0], "error_message"));
  EXPECT_FALSE(HoldsField(admin, jobs[1], "result"));
  EXPECT_TRUE(HoldsField(admin, jobs[1], "error_code"));
  EXPECT_TRUE(HoldsField(admin, jobs[1], "error_message"));
  std::vector<JobChange> carried;
  ASSERT_NO_FATAL_FAILURE(NextCarried(subscriber, carried));
  ASSERT_EQ(carried.size(), 2u);
  for (const JobChange& change : carried) ExpectCarriedAsRead(gateway, change);
  EXPECT_EQ(CarriedRecord(carried[1])->error_code, Name(ErrorCode::kHandlerError));

  JobStatus status = JobStatus::kQueued;
  auto requeued = gateway.Requeue(jobs[1].id, &status);
  ASSERT_TRUE(requeued && *requeued == RequeueOutcome::kQueued);
  const BatchStart second{"b2", 1, "w2", kFixedTime, kFixedTime + 200us, "full", roles.Epoch()};
  finished = worker.Finish(
      std::vector<JobOutcome>{{.id = jobs[1].id, .attempt = 2, .succeeded = true, .result = "2"}},
      &second);
  ASSERT_TRUE(finished) << finished.error().message;
  ASSERT_EQ(finished->front().kind, FinishMark::Kind::kWritten);
  EXPECT_FALSE(HoldsField(admin, jobs[1], "error_code"))
      << "the failure's error is not left behind";
  EXPECT_FALSE(HoldsField(admin, jobs[1], "error_message"));
  ASSERT_NO_FATAL_FAILURE(NextCarried(subscriber, carried));
  ASSERT_EQ(carried.size(), 1u);
  ExpectCarriedAsRead(gateway, carried[0]);
  auto read = gateway.Get(jobs[1].id);
  ASSERT_TRUE(read && *read);
  EXPECT_EQ((*read)->status, JobStatus::kSucceeded);
  EXPECT_EQ((*read)->result, "2");
  EXPECT_TRUE((*read)->error_code.empty());
}

// A new record leaves a zero number out (priority, timeout, retries): each reads as 0,
// is carried as 0, and the finish script takes an absent max_retries as none left. It
// leaves out the backoff of a job without retries too, which only a retry reads.
TEST_F(CarriedRecordTest, ANewRecordLeavesOutItsZeroNumbersAndABackoffItWillNotUse) {
  auto& [gateway_redis, broker_redis, worker_redis, gateway, broker, worker] = roles;
  RedisConnection admin(RedisConnection::Options{*ParseRedisUrl(parts_.stack.redis_url())});

  std::vector<NewJob> jobs = {Job("zeros"), Job("set")};
  // Both get their type's backoff, as the gateway gives them; only a job with retries
  // ever reads it. A millisecond, so that the retry's delay shows it was read.
  jobs[0].retry_backoff_ms = 1;
  jobs[1].retry_backoff_ms = 1;
  jobs[1].priority = 2;
  jobs[1].timeout_ms = 5000;
  jobs[1].max_retries = 1;
  ASSERT_TRUE(gateway.Create(jobs));
  for (const std::string_view field :
       {"priority", "timeout_ms", "max_retries", "retry_backoff_ms"}) {
    EXPECT_FALSE(HoldsField(admin, jobs[0], field)) << field;
    EXPECT_TRUE(HoldsField(admin, jobs[1], field)) << field;
  }
  EXPECT_TRUE(HoldsField(admin, jobs[0], "attempts")) << "scripts compare it as text";
  auto read = gateway.Get(jobs[0].id);
  ASSERT_TRUE(read && *read);
  EXPECT_EQ((*read)->priority, 0);
  EXPECT_EQ((*read)->timeout_ms, 0);
  EXPECT_EQ((*read)->max_retries, 0u);

  const BatchStart start{"b1", 2, "w1", kFixedTime, kFixedTime + 100us, "full", roles.Epoch()};
  auto finished =
      worker.Finish(std::vector<JobOutcome>{Failure(jobs[0], ErrorCode::kTransientError, "again"),
                                            Failure(jobs[1], ErrorCode::kTransientError, "again")},
                    &start);
  ASSERT_TRUE(finished && finished->size() == 2u);
  EXPECT_EQ((*finished)[0].kind, FinishMark::Kind::kWritten) << "no retries: it ends";
  EXPECT_EQ((*finished)[1].kind, FinishMark::Kind::kRetrying);
  EXPECT_LT((*finished)[1].retry_in, 100ms) << "the retry waited the script's default second, "
                                               "not the record's backoff";
  std::vector<JobChange> carried;
  ASSERT_NO_FATAL_FAILURE(NextCarried(subscriber, carried));
  ASSERT_EQ(carried.size(), 1u);
  ExpectCarriedAsRead(gateway, carried[0]);
  EXPECT_EQ(CarriedRecord(carried[0])->max_retries, 0u);
  EXPECT_EQ(CarriedRecord(carried[0])->priority, 0);
}

}  // namespace
}  // namespace batchq::test
