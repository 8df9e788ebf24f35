// A batch's finish as an optimistic transaction (finish_transaction.h), on a real Redis:
// it writes, byte for byte, what the finish script writes (the records, the blobs, the
// accounts, the webhooks, the pending set and every message), for the batches it
// decides and for those it leaves to the script; a record or an epoch changed between
// its read and its EXEC makes it read again, so the fence holds; and a worker whose ACL
// has no transactions still gets its results written, by the script.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/job_change.h"
#include "common/job_store.h"
#include "common/redis_connection.h"
#include "tests/support/role_stores.h"
#include "tests/support/role_stores_test.h"
#include "tests/support/stack.h"

namespace batchq::test {
namespace {

using namespace std::chrono_literals;
using Event = RedisConnection::PubSubEvent;

WallMicros FixedClock() { return WallMicros(1'765'000'000'123'456); }

JobOutcome Success(const std::string& id, std::uint32_t attempt, std::string result = "\"X\"") {
  return {.id = id, .attempt = attempt, .succeeded = true, .result = std::move(result)};
}

// Everything under `prefix`, as text a test compares: each key (less the prefix) with
// its type, its value (a hash's fields in Redis's order) and whether it expires.
std::map<std::string, std::string> Dump(RedisConnection& admin, const std::string& prefix) {
  std::map<std::string, std::string> out;
  auto keys = admin.Command({"KEYS", prefix + "*"});
  if (!keys || keys->kind != RedisReply::Kind::kArray) throw std::runtime_error("KEYS failed");
  for (const RedisReply& key : keys->elements) {
    auto type = admin.Command({"TYPE", key.str});
    auto ttl = admin.Command({"TTL", key.str});
    if (!type || !ttl) throw std::runtime_error("TYPE or TTL failed");
    std::string text = type->str + (ttl->integer > 0 ? " expires" : " stays") + ":";
    Result<RedisReply> value = std::unexpected(Error{});
    if (type->str == "hash") value = admin.Command({"HGETALL", key.str});
    if (type->str == "string") value = admin.Command({"GET", key.str});
    if (type->str == "zset") value = admin.Command({"ZRANGE", key.str, "0", "-1", "WITHSCORES"});
    if (type->str == "list") value = admin.Command({"LRANGE", key.str, "0", "-1"});
    if (!value) throw std::runtime_error("no reading of a " + type->str);
    if (value->kind == RedisReply::Kind::kArray) {
      for (const RedisReply& element : value->elements) text += "|" + element.str;
    } else {
      text += value->str;
    }
    out[key.str.substr(prefix.size())] = text;
  }
  return out;
}

class FinishTransactionTest : public RoleStoresTest {
 protected:
  BatchStart Batch(std::string id, std::uint64_t epoch) {
    return BatchStart{std::move(id),
                      4,
                      "w1",
                      WallMicros(1'765'000'000'000'000),
                      WallMicros(1'765'000'000'000'100),
                      "full",
                      epoch};
  }
};

// The same jobs, finished in the same batches at the same (injected) time, once by the
// script and once by the transaction, under two key prefixes of one Redis.
TEST_F(FinishTransactionTest, WritesWhatTheScriptWrites) {
  const RedisEndpoint endpoint = stack_.redis_admin_endpoint();
  RedisConnection script_redis(RedisConnection::Options{endpoint});
  RedisConnection transaction_redis(RedisConnection::Options{endpoint});
  JobStore by_script(script_redis,
                     {.key_prefix = "lua:", .finish_by_script = true, .wall_clock = FixedClock});
  JobStore by_transaction(transaction_redis, {.key_prefix = "txn:", .wall_clock = FixedClock});
  RedisConnection subscriber(RedisConnection::Options{endpoint});
  ASSERT_TRUE(subscriber.Subscribe("lua:done"));
  for (const char* channel : {"lua:progress", "txn:done", "txn:progress"}) {
    ASSERT_TRUE(subscriber.SendSubscription(RedisConnection::Subscription::kSubscribe, channel));
  }
  for (int confirmed = 0; confirmed < 3; ++confirmed) {
    auto event = subscriber.NextEvent(5s);
    ASSERT_TRUE(event && *event && (*event)->kind == Event::Kind::kSubscribed);
  }

  // Jobs of two tenants, one with a webhook, one whose result is past the carried bound.
  std::vector<NewJob> jobs;
  for (int i = 0; i < 10; ++i) jobs.push_back(AcmeUpperJob("same"));
  jobs[1].tenant = "beta";
  jobs[2].callback_url = "https://h.io/x";
  jobs[2].webhook_key = "k1";
  // A URL past the creation's carried text (kMaxCreationCarriedBytes): the script's.
  jobs[9].callback_url = "https://hooks.example/a/longer/path";
  jobs[9].webhook_key = "k2";
  const std::string big(kMaxCarriedRecordBytes + 10, 'y');
  JobOutcome failed = Success(jobs[3].id, 1, "");
  failed.succeeded = false;
  failed.error_code = ErrorCode::kInvalidInput;
  failed.error_message = "bad\tinput\n";
  JobOutcome with_blob = Success(jobs[4].id, 1, "{}");
  with_blob.blob = std::string("\x89PNG\0\1", 6);
  with_blob.content_type = "image/png";
  // Retryable, with no retries left (a retry's backoff is drawn at random).
  JobOutcome retryable = Success(jobs[8].id, 1, "");
  retryable.succeeded = false;
  retryable.error_code = ErrorCode::kTransientError;
  retryable.error_message = "slow";

  const auto finish_all = [&](JobStore& store, RedisConnection& redis) {
    ASSERT_TRUE(redis.Command({"SET", store.epoch_key(), "7"}));
    ASSERT_TRUE(store.Create(std::span(jobs).first(1)));
    ASSERT_TRUE(store.Create(std::span(jobs).subspan(1)));
    const BatchStart at_write = Batch("b1", 7);
    // Claimed at write: succeeded, another tenant, a webhook, failed, a blob, past the
    // carried bound; then the first again (ended: refused).
    const std::vector<JobOutcome> first = {Success(jobs[0].id, 1),
                                           Success(jobs[1].id, 1),
                                           Success(jobs[2].id, 1),
                                           failed,
                                           with_blob,
                                           Success(jobs[5].id, 1, "\"" + big + "\"")};
    auto marks = store.Finish(first, &at_write);
    ASSERT_TRUE(marks) << marks.error().message;
    EXPECT_EQ(marks->at(0).kind, FinishMark::Kind::kWritten);
    marks = store.Finish(std::span(first).first(1), &at_write);
    ASSERT_TRUE(marks) << marks.error().message;
    EXPECT_EQ(marks->at(0).kind, FinishMark::Kind::kRefused);
    // A deposed broker's batch writes nothing.
    const BatchStart deposed = Batch("b0", 6);
    marks = store.Finish(std::vector{Success(jobs[6].id, 1)}, &deposed);
    ASSERT_TRUE(marks) << marks.error().message;
    EXPECT_EQ(marks->at(0).kind, FinishMark::Kind::kRefused);
    // Claimed first, then written with the start in hand; the second as a later
    // attempt, whose record the script reads back for its carried record.
    const BatchStart claimed = Batch("b2", 7);
    ASSERT_TRUE(
        store.Start(claimed, std::vector{JobClaim{jobs[6].id, 1}, JobClaim{jobs[7].id, 2}}));
    for (std::uint32_t attempt : {1, 2}) {
      marks = store.Finish(std::vector{Success(jobs[5 + attempt].id, attempt)}, nullptr, &claimed);
      ASSERT_TRUE(marks) << marks.error().message;
      EXPECT_EQ(marks->at(0).kind, FinishMark::Kind::kWritten);
    }
    for (const JobOutcome& outcome : {retryable, Success(jobs[9].id, 1)}) {
      marks = store.Finish(std::vector{outcome}, &at_write);
      ASSERT_TRUE(marks) << marks.error().message;
      EXPECT_EQ(marks->at(0).kind, FinishMark::Kind::kWritten);
    }
  };
  finish_all(by_script, script_redis);
  const std::int64_t watches = CommandCalls(*admin_, "watch");
  const std::int64_t evalshas = CommandCalls(*admin_, "evalsha");
  finish_all(by_transaction, transaction_redis);
  // A WATCH for each finish; the script for the later attempt, the retryable failure
  // and the long URL only (and the start's own).
  EXPECT_EQ(CommandCalls(*admin_, "watch") - watches, 7);
  EXPECT_EQ(CommandCalls(*admin_, "evalsha") - evalshas, 4);

  EXPECT_EQ(Dump(*admin_, "lua:"), Dump(*admin_, "txn:"));
  std::map<std::string, std::vector<std::string>> heard;
  for (;;) {
    auto event = subscriber.NextEvent(200ms);
    ASSERT_TRUE(event) << event.error().message;
    if (!*event) break;
    heard[(*event)->channel].push_back((*event)->payload);
  }
  EXPECT_FALSE(heard["lua:done"].empty());
  EXPECT_FALSE(heard["lua:progress"].empty());
  EXPECT_EQ(heard["lua:done"], heard["txn:done"]);
  EXPECT_EQ(heard["lua:progress"], heard["txn:progress"]);
}

// A job cancelled after the transaction read it: EXEC finds its record changed, writes
// nothing, and the finish reads again; the cancel stands and the others are written.
TEST_F(FinishTransactionTest, ARecordChangedBeforeTheWriteIsReadAgainAndItsFenceHolds) {
  const NewJob kept = AcmeUpperJob("kept");
  const NewJob cancelled = AcmeUpperJob("cancelled");
  ASSERT_TRUE(roles_->gateway.Create(std::vector<NewJob>{kept, cancelled}));
  int reads = 0;
  JobStore worker(roles_->worker_redis, {.before_finish_write = [&] {
                    if (++reads == 1) {
                      JobStatus status{};
                      ASSERT_TRUE(roles_->gateway.Cancel(cancelled.id, "tester", &status));
                    }
                  }});
  const BatchStart start = Batch("b1", roles_->Epoch());
  const std::int64_t execs = CommandCalls(*admin_, "exec");
  const auto marks =
      worker.Finish(std::vector{Success(kept.id, 1), Success(cancelled.id, 1)}, &start);
  ASSERT_TRUE(marks) << marks.error().message;
  EXPECT_EQ(reads, 2);
  EXPECT_EQ(CommandCalls(*admin_, "exec") - execs, 2);
  EXPECT_EQ(marks->at(0).kind, FinishMark::Kind::kWritten);
  EXPECT_EQ(marks->at(1).kind, FinishMark::Kind::kRefused);
  EXPECT_EQ(Read(kept.id).status, JobStatus::kSucceeded);
  const JobRecord record = Read(cancelled.id);
  EXPECT_EQ(record.status, JobStatus::kCancelled);
  EXPECT_EQ(record.cancelled_by, "tester");
  EXPECT_EQ(record.result, "");
}

// A new broker epoch drawn after the read: the batch is read again, found deposed, and
// nothing of it is written.
TEST_F(FinishTransactionTest, ANewEpochBeforeTheWriteRefusesTheWholeBatch) {
  const NewJob job = AcmeUpperJob("deposed");
  ASSERT_TRUE(roles_->gateway.Create(std::vector<NewJob>{job}));
  int reads = 0;
  JobStore worker(roles_->worker_redis, {.before_finish_write = [&] {
                    ++reads;
                    ASSERT_TRUE(admin_->Command({"INCR", roles_->broker.epoch_key()}));
                  }});
  const BatchStart start = Batch("b1", roles_->Epoch());
  const auto marks = worker.Finish(std::vector{Success(job.id, 1)}, &start);
  ASSERT_TRUE(marks) << marks.error().message;
  EXPECT_EQ(reads, 1);
  EXPECT_EQ(marks->at(0).kind, FinishMark::Kind::kRefused);
  EXPECT_EQ(Read(job.id).status, JobStatus::kQueued);
}

// A worker's ACL user from before the transaction (no WATCH, MULTI or EXEC): Redis
// refuses the transaction, and the script writes the results, then and from then on.
TEST_F(FinishTransactionTest, AWorkerAclWithoutTransactionsStillGetsItsResultsWritten) {
  auto set = admin_->Command({"ACL", "SETUSER", "worker", "-watch", "-multi", "-exec"});
  ASSERT_TRUE(set && !set->is_error()) << (set ? set->str : set.error().message);
  for (int batch = 0; batch < 2; ++batch) {
    const NewJob job = AcmeUpperJob("old-acl");
    ASSERT_TRUE(roles_->gateway.Create(std::vector<NewJob>{job}));
    const BatchStart start = Batch("b1", roles_->Epoch());
    const std::int64_t refusals = CommandCalls(*admin_, "watch", "rejected_calls");
    const std::int64_t evalshas = CommandCalls(*admin_, "evalsha");
    const auto marks = roles_->worker.Finish(std::vector{Success(job.id, 1)}, &start);
    ASSERT_TRUE(marks) << marks.error().message;
    EXPECT_EQ(marks->at(0).kind, FinishMark::Kind::kWritten);
    EXPECT_EQ(Read(job.id).status, JobStatus::kSucceeded);
    EXPECT_EQ(CommandCalls(*admin_, "evalsha") - evalshas, 1);
    // Asked once; the refusal is remembered.
    EXPECT_EQ(CommandCalls(*admin_, "watch", "rejected_calls") - refusals, batch == 0 ? 1 : 0);
  }
}

// The roles' own ACL users: a worker's finish is a transaction, not the script.
TEST_F(FinishTransactionTest, AWorkerUnderItsAclFinishesByTransaction) {
  const NewJob job = AcmeUpperJob("acl");
  ASSERT_TRUE(roles_->gateway.Create(std::vector<NewJob>{job}));
  const BatchStart start = Batch("b1", roles_->Epoch());
  const std::int64_t execs = CommandCalls(*admin_, "exec");
  const std::int64_t evalshas = CommandCalls(*admin_, "evalsha");
  const auto marks = roles_->worker.Finish(std::vector{Success(job.id, 1)}, &start);
  ASSERT_TRUE(marks) << marks.error().message;
  EXPECT_EQ(marks->at(0).kind, FinishMark::Kind::kWritten);
  EXPECT_EQ(CommandCalls(*admin_, "exec") - execs, 1);
  EXPECT_EQ(CommandCalls(*admin_, "evalsha") - evalshas, 0);
  const JobRecord record = Read(job.id);
  EXPECT_EQ(record.status, JobStatus::kSucceeded);
  EXPECT_EQ(record.worker, "w1");
}

}  // namespace
}  // namespace batchq::test
