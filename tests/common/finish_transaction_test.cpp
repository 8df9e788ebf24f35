// What a finish transaction decides from its reads (finish_transaction.h), without Redis:
// the fence (epoch and attempt), the batches left to the script, and the exact writes
// (tests/integration/finish_transaction_test.cpp compares them with the script's on a
// real Redis).
#include "common/finish_transaction.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace batchq {
namespace {

using Commands = std::vector<std::vector<std::string>>;
using Decision = FinishTransaction::Decision;

RedisReply Reply(RedisReply::Kind kind) {
  RedisReply reply;
  reply.kind = kind;
  return reply;
}
RedisReply Str(std::string text) {
  RedisReply reply = Reply(RedisReply::Kind::kString);
  reply.str = std::move(text);
  return reply;
}
RedisReply Nil() { return Reply(RedisReply::Kind::kNil); }
RedisReply Int(long long n) {
  RedisReply reply = Reply(RedisReply::Kind::kInteger);
  reply.integer = n;
  return reply;
}
RedisReply Arr(std::vector<RedisReply> elements) {
  RedisReply reply = Reply(RedisReply::Kind::kArray);
  reply.elements = std::move(elements);
  return reply;
}
// A record's first read: status, attempts, id, tenant, storage, type, callback_url and
// the creation's carried text.
RedisReply Record(std::string status, std::string attempts, std::string id,
                  RedisReply creation = Str("\tcreated_us=5")) {
  return Arr({Str(status), Str(attempts), Str(id), Str("acme"), Str("100 650"), Str("upper"), Nil(),
              creation});
}

Commands Texts(const std::vector<std::vector<std::string_view>>& commands) {
  Commands out;
  for (const auto& command : commands) out.emplace_back(command.begin(), command.end());
  return out;
}

class FinishTransactionDecideTest : public ::testing::Test {
 protected:
  FinishTransactionDecideTest() {
    batch_ = {.now_us = "1000123456",
              .ttl_s = "60",
              .done_channel = "bq:done",
              .progress_channel = "bq:progress",
              .release_minute = "200",
              .key_prefix = "bq:",
              .pending_key = "bq:pending",
              .epoch_key = "bq:broker:epoch",
              .epoch = "7",
              .start_pairs = start_pairs_,
              .start_text = "\tworker=w1",
              .jobs = jobs_};
  }
  // One succeeded job of attempt `token`, with its ending's carried text.
  void AddJob(std::string_view key, std::string_view token, std::string_view jitter = "") {
    jobs_.push_back({.key = key,
                     .token = token,
                     .blob = "",
                     .jitter = jitter,
                     .ending = "\tstatus=succeeded",
                     .pairs = pairs_});
    batch_.jobs = jobs_;
  }
  Decision Decide(FinishTransaction& transaction, std::vector<RedisReply> records,
                  RedisReply epoch = Str("7"), long long listeners = 1) {
    replies_ = {Str("OK")};
    if (!batch_.epoch_key.empty()) {
      replies_.push_back(std::move(epoch));
      replies_.push_back(Arr({Str("bq:progress"), Int(listeners)}));
    }
    for (auto& record : records) replies_.push_back(std::move(record));
    return transaction.Decide(replies_);
  }

  const std::vector<std::string_view> start_pairs_{"worker", "w1", "start", "1 2 4 full b1"};
  const std::vector<std::string_view> pairs_{"status", "succeeded", "result", "\"X\""};
  std::vector<FinishJob> jobs_;
  FinishBatch batch_;
  // The replies of the last Decide: its writes view them, as JobStore keeps them.
  std::vector<RedisReply> replies_;
};

TEST_F(FinishTransactionDecideTest, ReadsUnderWatchTheEpochAndEachRecord) {
  AddJob("bq:job:a", "1");
  AddJob("bq:job:b", "1");
  const FinishTransaction transaction(batch_, "SETTLE");
  const Commands reads = Texts(transaction.reads());
  ASSERT_EQ(reads.size(), 5u);
  EXPECT_EQ(reads[0],
            (std::vector<std::string>{"WATCH", "bq:broker:epoch", "bq:job:a", "bq:job:b"}));
  EXPECT_EQ(reads[1], (std::vector<std::string>{"GET", "bq:broker:epoch"}));
  EXPECT_EQ(reads[2], (std::vector<std::string>{"PUBSUB", "NUMSUB", "bq:progress"}));
  EXPECT_EQ(reads[3][0], "HMGET");
  EXPECT_EQ(reads[4][1], "bq:job:b");
}

TEST_F(FinishTransactionDecideTest, AQueuedJobIsClaimedAndWrittenAsTheScriptWouldWriteIt) {
  AddJob("bq:job:a", "1");
  FinishTransaction transaction(batch_, "SETTLE");
  ASSERT_EQ(Decide(transaction, {Record("queued", "0", "a")}), Decision::kWrite);
  EXPECT_EQ(transaction.written(), std::vector<bool>{true});
  const Commands expected = {
      {"MULTI"},
      {"HSET", "bq:job:a", "storage", "200 662", "attempts", "1", "worker", "w1", "start",
       "1 2 4 full b1", "finished_us", "1000123456", "status", "succeeded", "result", "\"X\""},
      {"EXPIRE", "bq:job:a", "60"},
      // The account: 650 bytes leave minute 100; they and the 12 of the outcome's values
      // come to minute 200.
      {"EVAL", "SETTLE", "0", "bq:", "acme", "12", "2", "100", "-650", "200", "662"},
      {"PUBLISH", "bq:progress", "a\trunning\t1\tacme\tupper"},
      {"PUBLISH", "bq:done",
       "a\tsucceeded\t1\tacme\tupper\tstatus=succeeded\tworker=w1\tcreated_us=5"},
      {"ZREM", "bq:pending", "a"},
      {"PUBLISH", "bq:done", "a\tsucceeded\t1\tacme\tupper"},
      {"EXEC"}};
  EXPECT_EQ(Texts(transaction.writes()), expected);
}

TEST_F(FinishTransactionDecideTest, NoRunningLineWhileNoOneHearsProgress) {
  AddJob("bq:job:a", "1");
  FinishTransaction transaction(batch_, "SETTLE");
  ASSERT_EQ(Decide(transaction, {Record("queued", "0", "a")}, Str("7"), 0), Decision::kWrite);
  for (const auto& command : Texts(transaction.writes())) {
    EXPECT_FALSE(command.size() > 1 && command[1] == "bq:progress");
  }
}

TEST_F(FinishTransactionDecideTest, AnotherEpochWritesNothing) {
  AddJob("bq:job:a", "1");
  FinishTransaction transaction(batch_, "SETTLE");
  EXPECT_EQ(Decide(transaction, {Record("queued", "0", "a")}, Str("8")), Decision::kNothing);
  EXPECT_EQ(transaction.written(), std::vector<bool>{false});
  EXPECT_EQ(Decide(transaction, {Record("queued", "0", "a")}, Nil()), Decision::kNothing);
}

// The attempt's fence: a job ended, or running under a newer attempt, is not written;
// one running under an older attempt (its worker was declared lost) is claimed.
TEST_F(FinishTransactionDecideTest, OnlyAJobOfThisOrAnOlderAttemptIsWritten) {
  AddJob("bq:job:a", "2");
  AddJob("bq:job:b", "2");
  AddJob("bq:job:c", "2");
  batch_.start_text = "";  // a later attempt has no creation text: nothing carried
  jobs_[0].ending = jobs_[1].ending = jobs_[2].ending = "";
  FinishTransaction transaction(batch_, "SETTLE");
  ASSERT_EQ(Decide(transaction, {Record("succeeded", "2", "a"), Record("running", "3", "b"),
                                 Record("running", "1", "c")}),
            Decision::kWrite);
  EXPECT_EQ(transaction.written(), (std::vector<bool>{false, false, true}));
}

// What only the script does: a retry (its history), and a carried record that needs
// the record read back (no creation text, or no start in hand).
TEST_F(FinishTransactionDecideTest, ARetryOrARecordToReadBackIsTheScripts) {
  AddJob("bq:job:a", "1", "750");
  FinishTransaction retry(batch_, "SETTLE");
  EXPECT_EQ(Decide(retry, {Record("queued", "0", "a")}), Decision::kScript);
  // Not this worker's to end, so its retry is not either.
  EXPECT_EQ(Decide(retry, {Record("cancelled", "0", "a")}), Decision::kNothing);

  jobs_[0].jitter = "";
  FinishTransaction no_creation(batch_, "SETTLE");
  EXPECT_EQ(Decide(no_creation, {Record("queued", "0", "a", Nil())}), Decision::kScript);
  // Not carried at all (its ending past the bound): nothing to read back.
  jobs_[0].ending = "";
  FinishTransaction not_carried(batch_, "SETTLE");
  EXPECT_EQ(Decide(not_carried, {Record("queued", "0", "a", Nil())}), Decision::kWrite);

  // Claimed first by this worker with no start given: the script reads it.
  jobs_[0].ending = "\tstatus=succeeded";
  batch_.epoch_key = "";
  batch_.start_text = "";
  batch_.start_pairs = {};
  FinishTransaction no_start(batch_, "SETTLE");
  EXPECT_EQ(Decide(no_start, {Record("running", "1", "a")}), Decision::kScript);
  // A record of an unexpected shape, too.
  EXPECT_EQ(Decide(no_start, {Arr({Str("running")})}), Decision::kScript);
}

}  // namespace
}  // namespace batchq
