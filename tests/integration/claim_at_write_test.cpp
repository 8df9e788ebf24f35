// A batch claimed at write (claim_timing.h), on a real Redis under the worker's ACL user:
// the finish script claims each job by the start script's rule and writes its start with
// its ending. A job queued, or running under an older attempt, is written; a job
// cancelled, ended, or running under this or a newer attempt is not; under a deposed
// broker's epoch nothing is. A retryable failure queues the job again with this
// attempt in its history. A late result after the write is refused as before.
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/job_store.h"
#include "common/packed_start.h"
#include "common/redis_connection.h"
#include "tests/support/role_stores.h"
#include "tests/support/role_stores_test.h"
#include "tests/support/stack.h"

namespace batchq::test {
namespace {

NewJob ClaimedJob(std::uint32_t max_retries = 0) {
  return AcmeUpperJob("claim-at-write", max_retries);
}

JobOutcome Succeeded(const std::string& id, std::uint32_t attempt) {
  return {.id = id, .attempt = attempt, .succeeded = true, .result = "\"X\""};
}

FinishMark::Kind Kind(const Result<std::vector<FinishMark>>& marks, std::size_t i) {
  if (!marks || marks->size() <= i) return static_cast<FinishMark::Kind>(-1);
  return (*marks)[i].kind;
}

class ClaimAtWriteTest : public RoleStoresTest {
 protected:
  BatchStart Start(std::uint64_t epoch) const {
    return BatchStart{
        "b1",   1,    "w1", WallMicros(1'700'000'000'000'000), WallMicros(1'700'000'000'000'100),
        "full", epoch};
  }
  // Whether the record of job `id` holds the hash field `field` in Redis.
  bool Holds(const std::string& id, std::string_view field) {
    RedisConnection admin(RedisConnection::Options{*ParseRedisUrl(stack_.redis_url())});
    auto reply = admin.Command({"HEXISTS", roles_->gateway.JobKey(id), std::string(field)});
    if (!reply) ADD_FAILURE() << reply.error().message;
    return reply && reply->integer == 1;
  }
};

TEST_F(ClaimAtWriteTest, AQueuedJobIsWrittenWithItsStartAndAttempt) {
  const NewJob job = ClaimedJob();
  const NewJob waiting = ClaimedJob();  // never started: a record without any start
  ASSERT_TRUE(roles_->gateway.Create(std::vector<NewJob>{job, waiting}));
  const BatchStart start = Start(roles_->Epoch());
  const std::vector<JobOutcome> outcomes = {Succeeded(job.id, 1)};
  const auto marks = roles_->worker.Finish(outcomes, &start);
  ASSERT_TRUE(marks) << marks.error().message;
  EXPECT_EQ(Kind(marks, 0), FinishMark::Kind::kWritten);
  const JobRecord record = Read(job.id);
  EXPECT_EQ(record.status, JobStatus::kSucceeded);
  EXPECT_EQ(record.result, "\"X\"");
  EXPECT_EQ(record.attempts, 1u);
  EXPECT_EQ(record.worker, "w1");
  EXPECT_EQ(record.batch_id, "b1");
  EXPECT_EQ(record.batch_size, 1u);
  EXPECT_EQ(record.close_reason, "full");
  EXPECT_EQ(record.dispatched, start.dispatched);
  EXPECT_EQ(record.started, start.started);
  // A listing's summaries (the dashboard's table) read the same start, and list the job
  // that has none.
  const auto page = roles_->gateway.RecentSummaries({});
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->jobs.size(), 2u);
  const JobRecord& listed = page->jobs[0].id == job.id ? page->jobs[0] : page->jobs[1];
  EXPECT_EQ(listed.id, job.id);
  EXPECT_EQ(listed.worker, "w1");
  EXPECT_EQ(listed.batch_id, "b1");
  EXPECT_EQ(listed.close_reason, "full");
  EXPECT_EQ(listed.started, start.started);
  // Its start packed into one field (packed_start.h), beside its worker.
  EXPECT_TRUE(Holds(job.id, kPackedStartField));
  EXPECT_TRUE(Holds(job.id, FieldName(RecordField::kWorker)));
  for (const RecordField field :
       {RecordField::kBatchId, RecordField::kBatchSize, RecordField::kDispatched,
        RecordField::kStarted, RecordField::kCloseReason}) {
    EXPECT_FALSE(Holds(job.id, FieldName(field))) << FieldName(field) << " beside the packed start";
  }

  // A second write of the same attempt, claimed first or at write, finds it ended.
  EXPECT_EQ(Kind(roles_->worker.Finish(outcomes), 0), FinishMark::Kind::kRefused);
  EXPECT_EQ(Kind(roles_->worker.Finish(outcomes, &start), 0), FinishMark::Kind::kRefused);
}

// The finish script writes an ending with one HSET whose arguments it lists for a start
// that packs (packed_start.h) and a record with its stored-bytes entry, and builds them
// otherwise (a start without its close reason does not pack): each way reads the same.
TEST_F(ClaimAtWriteTest, AStartWithAFieldLeftOutAndARecordWithoutItsEntryAreWrittenAlike) {
  RedisConnection admin(RedisConnection::Options{*ParseRedisUrl(stack_.redis_url())});
  const NewJob full = ClaimedJob();
  const NewJob short_start = ClaimedJob();
  const NewJob no_entry = ClaimedJob();
  const NewJob no_entry_claimed_first = ClaimedJob();
  ASSERT_TRUE(roles_->gateway.Create(
      std::vector<NewJob>{full, short_start, no_entry, no_entry_claimed_first}));
  for (const NewJob* job : {&no_entry, &no_entry_claimed_first}) {
    ASSERT_TRUE(
        admin.Command({"HDEL", roles_->gateway.JobKey(job->id), FieldName(RecordField::kStorage)}));
  }
  const BatchStart start = Start(roles_->Epoch());
  BatchStart without_reason = start;
  without_reason.close_reason.clear();  // an empty field is not sent
  const std::vector<JobClaim> claims = {{no_entry_claimed_first.id, 1}};
  ASSERT_TRUE(roles_->worker.Start(start, claims));

  struct Case {
    const NewJob* job;
    const BatchStart* claim;
    bool claimed_first;
  };
  for (const auto& [job, claim, claimed_first] :
       {Case{&full, &start, false}, Case{&short_start, &without_reason, false},
        Case{&no_entry, &start, false}, Case{&no_entry_claimed_first, &start, true}}) {
    const std::vector<JobOutcome> outcomes = {Succeeded(job->id, 1)};
    const auto marks = claimed_first ? roles_->worker.Finish(outcomes, nullptr, claim)
                                     : roles_->worker.Finish(outcomes, claim);
    ASSERT_TRUE(marks) << marks.error().message;
    EXPECT_EQ(Kind(marks, 0), FinishMark::Kind::kWritten) << job->id;
    const JobRecord record = Read(job->id);
    EXPECT_EQ(record.status, JobStatus::kSucceeded) << job->id;
    EXPECT_EQ(record.result, "\"X\"") << job->id;
    EXPECT_GT(record.finished.count(), 0) << job->id;
    EXPECT_EQ(record.attempts, 1u) << job->id;
    EXPECT_EQ(record.worker, "w1") << job->id;
    EXPECT_EQ(record.batch_id, "b1") << job->id;
    EXPECT_EQ(record.started, start.started) << job->id;
    EXPECT_EQ(record.close_reason, claim->close_reason) << job->id;
    auto entry = admin.Command(
        {"HEXISTS", roles_->gateway.JobKey(job->id), FieldName(RecordField::kStorage)});
    ASSERT_TRUE(entry);
    EXPECT_EQ(entry->integer, job == &full || job == &short_start ? 1 : 0)
        << job->id << ": an entry written, or one that was not there kept";
    // A start without its close reason does not pack: its six fields are written.
    const bool packed = !claim->close_reason.empty() && !claimed_first;
    EXPECT_EQ(Holds(job->id, kPackedStartField), packed) << job->id;
    EXPECT_EQ(Holds(job->id, FieldName(RecordField::kBatchId)), !packed) << job->id;
  }
}

// POST :retry of a job whose start was packed writes that attempt's start time and batch
// into the history line, and leaves no packed start behind.
TEST_F(ClaimAtWriteTest, ARetriedJobWhoseStartWasPackedKeepsThatStartInItsHistory) {
  const NewJob job = ClaimedJob();
  ASSERT_TRUE(roles_->gateway.Create(std::vector<NewJob>{job}));
  const BatchStart start = Start(roles_->Epoch());
  const std::vector<JobOutcome> outcomes = {
      {.id = job.id, .attempt = 1, .error_code = ErrorCode::kHandlerError, .error_message = "no"}};
  ASSERT_EQ(Kind(roles_->worker.Finish(outcomes, &start), 0), FinishMark::Kind::kWritten);
  ASSERT_TRUE(Holds(job.id, kPackedStartField));
  ASSERT_EQ(Read(job.id).status, JobStatus::kFailed);

  JobStatus status{};
  const auto requeued = roles_->gateway.Requeue(job.id, &status);
  ASSERT_TRUE(requeued) << requeued.error().message;
  EXPECT_EQ(*requeued, RequeueOutcome::kQueued);
  const JobRecord record = Read(job.id);
  EXPECT_EQ(record.status, JobStatus::kQueued);
  EXPECT_NE(record.history.find(R"("started_us":1700000000000100)"), std::string::npos)
      << record.history;
  EXPECT_NE(record.history.find(R"("worker":"w1","batch":"b1")"), std::string::npos)
      << record.history;
  EXPECT_FALSE(Holds(job.id, kPackedStartField)) << "the retried job kept its last start";
  EXPECT_TRUE(record.batch_id.empty() && record.started.count() == 0 && record.worker.empty());
}

// A POST :retry older than the packed start left it in the queued record (it deleted the
// six fields only). A start written as the six fields (the start script's, or a finish's
// whose start does not pack) writes every one of them, the empty close reason too, after
// it: a read, and a listing's, gives that start, not the earlier attempt's.
TEST_F(ClaimAtWriteTest, AStartOfSixFieldsReadsOverAPackedStartAnOlderRetryLeft) {
  RedisConnection admin(RedisConnection::Options{*ParseRedisUrl(stack_.redis_url())});
  const NewJob claimed_first = ClaimedJob();
  const NewJob claimed_at_write = ClaimedJob();
  ASSERT_TRUE(roles_->gateway.Create(std::vector<NewJob>{claimed_first, claimed_at_write}));
  for (const NewJob* job : {&claimed_first, &claimed_at_write}) {
    ASSERT_TRUE(
        admin.Command({"HSET", roles_->gateway.JobKey(job->id), std::string(kPackedStartField),
                       "1600000000000000 5 9 stale old-b"}));
  }
  BatchStart without_reason = Start(roles_->Epoch());
  without_reason.close_reason.clear();  // does not pack

  const std::vector<JobClaim> claims = {{claimed_first.id, 1}};
  const auto started = roles_->worker.Start(without_reason, claims);
  ASSERT_TRUE(started) << started.error().message;
  ASSERT_EQ(*started, std::vector<bool>{true});
  const std::vector<JobOutcome> at_write = {Succeeded(claimed_at_write.id, 1)};
  ASSERT_EQ(Kind(roles_->worker.Finish(at_write, &without_reason), 0), FinishMark::Kind::kWritten);

  const auto page = roles_->gateway.RecentSummaries({});
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->jobs.size(), 2u);
  for (const JobRecord& record :
       {Read(claimed_first.id), Read(claimed_at_write.id), page->jobs[0], page->jobs[1]}) {
    EXPECT_EQ(record.close_reason, "") << record.id;
    EXPECT_EQ(record.batch_id, "b1") << record.id;
    EXPECT_EQ(record.batch_size, 1u) << record.id;
    EXPECT_EQ(record.started, without_reason.started) << record.id;
  }
}

TEST_F(ClaimAtWriteTest, NothingIsWrittenUnderADeposedBrokersEpoch) {
  const NewJob job = ClaimedJob();
  ASSERT_TRUE(roles_->gateway.Create(std::vector<NewJob>{job}));
  const BatchStart start = Start(roles_->Epoch() + 1);
  const auto marks = roles_->worker.Finish(std::vector<JobOutcome>{Succeeded(job.id, 1)}, &start);
  ASSERT_TRUE(marks) << marks.error().message;
  EXPECT_EQ(Kind(marks, 0), FinishMark::Kind::kRefused);
  const JobRecord record = Read(job.id);
  EXPECT_EQ(record.status, JobStatus::kQueued);
  EXPECT_TRUE(record.worker.empty()) << "a refused claim wrote its start";
}

TEST_F(ClaimAtWriteTest, OnlyAJobQueuedOrRunningUnderAnOlderAttemptIsClaimed) {
  const std::vector<NewJob> jobs = {ClaimedJob(), ClaimedJob(), ClaimedJob(), ClaimedJob()};
  const std::string& cancelled = jobs[0].id;
  const std::string& newer = jobs[1].id;  // running under attempt 2
  const std::string& older = jobs[2].id;  // running under attempt 1
  const std::string& same = jobs[3].id;   // running under attempt 2, claimed first
  ASSERT_TRUE(roles_->gateway.Create(jobs));
  JobStatus status{};
  ASSERT_EQ(roles_->gateway.Cancel(cancelled, "test", &status), CancelOutcome::kCancelled);
  const std::uint64_t epoch = roles_->Epoch();
  const BatchStart first = Start(epoch);
  ASSERT_TRUE(
      roles_->worker.Start(first, std::vector<JobClaim>{{newer, 2}, {older, 1}, {same, 2}}));

  const BatchStart start = Start(epoch);
  const std::vector<JobOutcome> outcomes = {Succeeded(cancelled, 1), Succeeded(newer, 1),
                                            Succeeded(older, 2), Succeeded(same, 2)};
  const auto marks = roles_->worker.Finish(outcomes, &start);
  ASSERT_TRUE(marks) << marks.error().message;
  EXPECT_EQ(Kind(marks, 0), FinishMark::Kind::kRefused) << "a cancelled job was written";
  EXPECT_EQ(Kind(marks, 1), FinishMark::Kind::kRefused)
      << "an older attempt took a newer one's job";
  EXPECT_EQ(Kind(marks, 2), FinishMark::Kind::kWritten) << "a lost worker's job was not taken over";
  // A job its own attempt claimed first is its own: written, as without a claim.
  EXPECT_EQ(Kind(marks, 3), FinishMark::Kind::kWritten);
  EXPECT_EQ(Read(cancelled).status, JobStatus::kCancelled);
  EXPECT_EQ(Read(newer).status, JobStatus::kRunning);
  EXPECT_EQ(Read(older).status, JobStatus::kSucceeded);
  EXPECT_EQ(Read(older).attempts, 2u);

  // The lost worker's late result, claimed first under attempt 1, is refused.
  EXPECT_EQ(Kind(roles_->worker.Finish(std::vector<JobOutcome>{Succeeded(older, 1)}), 0),
            FinishMark::Kind::kRefused);
  EXPECT_EQ(Read(older).attempts, 2u);
}

TEST_F(ClaimAtWriteTest, ARetryableFailureQueuesTheJobAgainWithThisAttemptInItsHistory) {
  const NewJob job = ClaimedJob(/*max_retries=*/1);
  ASSERT_TRUE(roles_->gateway.Create(std::vector<NewJob>{job}));
  const BatchStart start = Start(roles_->Epoch());
  const std::vector<JobOutcome> outcomes = {{.id = job.id,
                                             .attempt = 1,
                                             .error_code = ErrorCode::kTransientError,
                                             .error_message = "again"}};
  const auto marks = roles_->worker.Finish(outcomes, &start);
  ASSERT_TRUE(marks) << marks.error().message;
  EXPECT_EQ(Kind(marks, 0), FinishMark::Kind::kRetrying);
  const JobRecord record = Read(job.id);
  EXPECT_EQ(record.status, JobStatus::kQueued);
  EXPECT_EQ(record.attempts, 1u);
  EXPECT_EQ(record.retries, 1u);
  EXPECT_NE(record.history.find(R"("attempt":1,"status":"failed")"), std::string::npos)
      << record.history;
  EXPECT_NE(record.history.find(R"("started_us":1700000000000100)"), std::string::npos)
      << "the attempt's start came from the write: " << record.history;
  EXPECT_NE(record.history.find(R"("worker":"w1","batch":"b1")"), std::string::npos)
      << record.history;
  EXPECT_TRUE(record.worker.empty()) << "a job queued again kept its attempt's worker";

  // Its retry, claimed at write under attempt 2, ends it.
  const auto retried = roles_->worker.Finish(std::vector<JobOutcome>{Succeeded(job.id, 2)}, &start);
  EXPECT_EQ(Kind(retried, 0), FinishMark::Kind::kWritten);
  EXPECT_EQ(Read(job.id).status, JobStatus::kSucceeded);
}

}  // namespace
}  // namespace batchq::test
