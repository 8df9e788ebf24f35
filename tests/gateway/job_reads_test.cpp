// JobReads against in-memory ports, on an io_context the test runs itself.
#include "gateway/job_reads.h"

#include "gateway/group_read.h"

#include <gtest/gtest.h>

#include "tests/gateway/gateway_fakes.h"
#include "tests/support/stack.h"

namespace batchq {
namespace {

using test::FakeBroker;
using test::FakeStore;

class JobReadsTest : public ::testing::Test {
 protected:
  JobReadsTest() : reads_(threads_, JobReads::Options{}, store_, broker_, waiters_) {
    JobRecord queued;
    queued.id = "q";
    queued.type = "upper";
    queued.tenant = "t1";
    queued.status = JobStatus::kQueued;
    store_.records["q"] = queued;
    JobRecord done = queued;
    done.id = "d";
    done.status = JobStatus::kSucceeded;
    done.result = R"("HI")";
    store_.records["d"] = done;
  }

  // Calls `call` with a respond that records the answer, then runs what it posted.
  template <class Call>
  std::optional<HttpReply> Answer(Call call) {
    std::optional<HttpReply> reply;
    call([&reply](HttpReply r) {
      EXPECT_FALSE(reply.has_value()) << "answered twice";
      reply = std::move(r);
    });
    io_.poll();
    io_.restart();
    return reply;
  }

  // A :batch wait for jobs q and d, each watched before the wait (as a submit does);
  // `first` runs between the watches' registration and the wait.
  template <class First>
  void AwaitWatchedBatch(First first, std::optional<HttpReply>& reply) {
    std::vector<std::shared_ptr<EarlyWatch>> watches = {
        std::make_shared<EarlyWatch>(waiters_, "q"), std::make_shared<EarlyWatch>(waiters_, "d")};
    first();
    std::vector<SubmitItemOutcome> items(2);
    items[0].id = "q";
    items[1].id = "d";
    reads_.AwaitBatchEnd(
        std::move(items), std::chrono::milliseconds(60000), caller_,
        HttpReply{202, "{}", "application/json", {}},
        [&reply](HttpReply r) { reply = std::move(r); }, std::move(watches));
    io_.poll();
    io_.restart();
  }

  IoThreads threads_{1};
  boost::asio::io_context& io_ = threads_.First();
  FakeStore store_;
  FakeBroker broker_;
  CompletionWaiters waiters_;
  JobReads reads_;
  const Caller caller_{"k1", "t1", kAllScopes & ~static_cast<ScopeSet>(Scope::kAdmin), 0, 1, 0, 0};
  const Caller stranger_{"k2", "t2", kAllScopes & ~static_cast<ScopeSet>(Scope::kAdmin), 0, 1,
                         0,    0};
  const Caller admin_{"k3", "ops", kAllScopes, 0, 1, 0, 0};
};

TEST_F(JobReadsTest, AnotherTenantsJobIsNotFoundOnEveryRouteAndStaysUntouched) {
  auto missing = Answer([&](Respond r) { reads_.Get("missing", "", caller_, r); });
  ASSERT_TRUE(missing);
  const auto expect_same_as_missing = [&](const std::optional<HttpReply>& reply) {
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 404);
    EXPECT_EQ(reply->body, missing->body);
  };
  expect_same_as_missing(Answer([&](Respond r) { reads_.Get("d", "", stranger_, r); }));
  expect_same_as_missing(Answer([&](Respond r) { reads_.Get("q", "wait_ms=50", stranger_, r); }));
  expect_same_as_missing(Answer([&](Respond r) { reads_.GetResult("d", stranger_, r); }));
  expect_same_as_missing(Answer([&](Respond r) { reads_.Cancel("q", stranger_, r); }));
  EXPECT_EQ(store_.records["q"].status, JobStatus::kQueued);
  EXPECT_EQ(waiters_.size(), 0u);

  auto listed = Answer([&](Respond r) { reads_.List("", stranger_, r); });
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->body, R"({"jobs":[]})");
  listed = Answer([&](Respond r) { reads_.List("", caller_, r); });
  ASSERT_TRUE(listed);
  EXPECT_NE(listed->body.find(R"("id":"q")"), std::string::npos);

  // An admin sees every tenant, and can narrow the list to one.
  auto seen = Answer([&](Respond r) { reads_.Get("d", "", admin_, r); });
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->status, 200);
  listed = Answer([&](Respond r) { reads_.List("tenant=t2", admin_, r); });
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->body, R"({"jobs":[]})");
  listed = Answer([&](Respond r) { reads_.List("tenant=t1", admin_, r); });
  ASSERT_TRUE(listed);
  EXPECT_NE(listed->body.find(R"("id":"d")"), std::string::npos);
}

TEST_F(JobReadsTest, GetAnswersTheJobOr404Or503) {
  auto reply = Answer([&](Respond r) { reads_.Get("d", "", caller_, r); });
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(test::JsonString(reply->body, "status"), "succeeded");
  EXPECT_EQ(test::JsonString(reply->body, "result"), "HI");
  reply = Answer([&](Respond r) { reads_.Get("missing", "", caller_, r); });
  EXPECT_EQ(reply->status, 404);
  store_.down = true;
  reply = Answer([&](Respond r) { reads_.Get("d", "", caller_, r); });
  EXPECT_EQ(reply->status, 503);
  EXPECT_EQ(test::JsonString(reply->body, "error", "code"), "redis_unavailable");
}

TEST_F(JobReadsTest, ALongPollIsAnsweredWhenTheCompletionNoticeArrives) {
  std::optional<HttpReply> reply;
  reads_.Get("q", "wait_ms=60000", caller_, [&reply](HttpReply r) { reply = std::move(r); });
  io_.poll();
  EXPECT_FALSE(reply) << "a queued job is not answered before its notice or timeout";
  EXPECT_EQ(waiters_.size(), 1u);
  store_.records["q"].status = JobStatus::kSucceeded;
  waiters_.Notify("q");
  io_.poll();
  ASSERT_TRUE(reply);
  EXPECT_EQ(test::JsonString(reply->body, "status"), "succeeded");
  EXPECT_EQ(waiters_.size(), 0u);
}

TEST_F(JobReadsTest, ASubmitWatchedBeforeItsJobWasForwardedReadsOnlyAtTheEnd) {
  // Registered before the broker had the job; Redis is away until the job ends, so a
  // first read would have answered the 202 at once.
  auto watch = std::make_shared<EarlyWatch>(waiters_, "q");
  store_.down = true;
  std::optional<HttpReply> reply;
  reads_.AwaitEnd(
      "q", std::chrono::milliseconds(60000), caller_,
      HttpReply{202, "{}", "application/json", {{"Location", "/v1/jobs/q"}}},
      [&reply](HttpReply r) { reply = std::move(r); }, watch);
  watch.reset();  // the wait holds it now
  io_.poll();
  io_.restart();
  EXPECT_FALSE(reply) << "no first read: nothing to answer before the end";
  store_.down = false;
  store_.records["q"].status = JobStatus::kSucceeded;
  waiters_.Notify("q");
  io_.poll();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(test::JsonString(reply->body, "status"), "succeeded");
  EXPECT_EQ(waiters_.size(), 0u);
}

TEST_F(JobReadsTest, AWatchedBatchIsAnsweredWhenItsLastJobEndsWithoutAFirstRead) {
  std::optional<HttpReply> reply;
  AwaitWatchedBatch(
      [&] {
        waiters_.Notify("d");  // ended before the wait began: kept by its watch
        store_.down = true;
      },
      reply);
  EXPECT_FALSE(reply) << "one job is still running, and nothing was read";
  store_.down = false;
  store_.records["q"].status = JobStatus::kSucceeded;
  waiters_.Notify("q");
  io_.poll();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200) << reply->body;
  EXPECT_EQ(waiters_.size(), 0u);
}

// The ended record a notice carries (job_change.h): `stored`, succeeded with `result`.
CompletionWaiters::RecordSource Carried(const JobRecord& stored, std::string result) {
  JobRecord ended = stored;
  ended.status = JobStatus::kSucceeded;
  ended.result = std::move(result);
  return [record = std::make_shared<const JobRecord>(std::move(ended))] { return record; };
}

TEST_F(JobReadsTest, WaitsWokenWithACarriedRecordAnswerItWithoutReading) {
  // Long-poll: the first read finds the job queued; the end comes with its record while
  // Redis is away, so an answer read from Redis would be a 503.
  std::optional<HttpReply> polled;
  reads_.Get("q", "wait_ms=60000", caller_, [&polled](HttpReply r) { polled = std::move(r); });
  io_.poll();
  io_.restart();
  ASSERT_FALSE(polled);
  // A watched submit, whose wait never reads before the end either.
  auto watch = std::make_shared<EarlyWatch>(waiters_, "w");
  std::optional<HttpReply> submitted;
  reads_.AwaitEnd(
      "w", std::chrono::milliseconds(60000), caller_,
      HttpReply{202, "{}", "application/json", {{"Location", "/v1/jobs/w"}}},
      [&submitted](HttpReply r) { submitted = std::move(r); }, watch);
  watch.reset();
  io_.poll();
  io_.restart();
  store_.down = true;
  JobRecord w = store_.records["q"];
  w.id = "w";
  waiters_.Notify("q", Carried(store_.records["q"], R"("CARRIED-Q")"));
  waiters_.Notify("w", Carried(w, R"("CARRIED-W")"));
  io_.poll();
  ASSERT_TRUE(polled);
  EXPECT_EQ(polled->status, 200) << polled->body;
  EXPECT_NE(polled->body.find("CARRIED-Q"), std::string::npos) << polled->body;
  ASSERT_TRUE(submitted);
  EXPECT_EQ(submitted->status, 200) << submitted->body;
  EXPECT_NE(submitted->body.find("CARRIED-W"), std::string::npos) << submitted->body;
  EXPECT_EQ(waiters_.size(), 0u);
}

TEST_F(JobReadsTest, ACarriedRecordOfAnotherTenantsJobIsNotFound) {
  std::optional<HttpReply> reply;
  reads_.Get("q", "wait_ms=60000", stranger_, [&reply](HttpReply r) { reply = std::move(r); });
  io_.poll();
  io_.restart();
  ASSERT_TRUE(reply) << "the first read already finds no job of this tenant";
  EXPECT_EQ(reply->status, 404);
  // Woken by the record itself (the job was created after the first read, say).
  auto watch = std::make_shared<EarlyWatch>(waiters_, "q");
  reply.reset();
  reads_.AwaitEnd(
      "q", std::chrono::milliseconds(60000), stranger_,
      HttpReply{202, "{}", "application/json", {}}, [&reply](HttpReply r) { reply = std::move(r); },
      watch);
  watch.reset();
  io_.poll();
  io_.restart();
  waiters_.Notify("q", Carried(store_.records["q"], R"("SECRET")"));
  io_.poll();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->body.find("SECRET"), std::string::npos) << reply->body;
  EXPECT_EQ(reply->status, 202) << "the stranger's submit answers its own 202, not the job";
}

TEST_F(JobReadsTest, AWatchedBatchWhoseNoticesAllCarriedRecordsReadsNothing) {
  std::optional<HttpReply> reply;
  AwaitWatchedBatch([&] { waiters_.Notify("d", Carried(store_.records["d"], R"("CARRIED-D")")); },
                    reply);
  EXPECT_FALSE(reply);
  store_.down = true;
  waiters_.Notify("q", Carried(store_.records["q"], R"("CARRIED-Q")"));
  io_.poll();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200) << reply->body;
  EXPECT_NE(reply->body.find("CARRIED-Q"), std::string::npos) << reply->body;
  EXPECT_NE(reply->body.find("CARRIED-D"), std::string::npos) << reply->body;
}

TEST_F(JobReadsTest, AWatchedBatchWithACarriedRecordOfAnotherTenantAnswersItsOwn202) {
  // A notice's record that names another tenant (a garbled or forged notice): the
  // batch's answer shows no job of another tenant, whatever its notices carried.
  JobRecord foreign = store_.records["d"];
  foreign.tenant = "t2";
  std::optional<HttpReply> reply;
  AwaitWatchedBatch([&] { waiters_.Notify("d", Carried(foreign, R"("FOREIGN-D")")); }, reply);
  EXPECT_FALSE(reply);
  waiters_.Notify("q", Carried(store_.records["q"], R"("CARRIED-Q")"));
  io_.poll();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 202) << reply->body;
  EXPECT_EQ(reply->body.find("FOREIGN-D"), std::string::npos) << reply->body;
}

TEST_F(JobReadsTest, AJobThatSucceededHereAMomentAgoIsAnsweredWithoutARead) {
  RecentEndings endings({.hold = std::chrono::hours(1)});
  JobReads::Options options;
  options.endings = &endings;
  JobReads reads(threads_, options, store_, broker_, waiters_);
  JobRecord kept = store_.records["d"];
  kept.result = R"("KEPT")";
  endings.Keep(std::make_shared<const JobRecord>(kept), std::chrono::steady_clock::now());
  store_.down = true;  // a read would answer 503
  for (const std::string query : {"", "wait_ms=60000"}) {
    auto reply = Answer([&](Respond r) { reads.Get("d", query, caller_, r); });
    ASSERT_TRUE(reply) << query;
    EXPECT_EQ(reply->status, 200) << reply->body;
    EXPECT_EQ(test::JsonString(reply->body, "result"), "KEPT") << query;
  }
  auto hidden = Answer([&](Respond r) { reads.Get("d", "", stranger_, r); });
  ASSERT_TRUE(hidden);
  EXPECT_EQ(hidden->status, 404) << "another tenant's job is no job, kept or read";
  auto read = Answer([&](Respond r) { reads.Get("q", "", caller_, r); });
  ASSERT_TRUE(read);
  EXPECT_EQ(read->status, 503) << "a job not kept is read";
  EXPECT_EQ(waiters_.size(), 0u);
}

TEST_F(JobReadsTest, ALongPollOfAJobCreatedHereWaitsWithoutAFirstRead) {
  waiters_.Listening(true);
  ASSERT_TRUE(waiters_.Expect("q", "t1"));
  // Any read now answers 503: a long-poll that read first would answer at once.
  store_.down = true;
  std::optional<HttpReply> mine;
  reads_.Get("q", "wait_ms=60000", caller_, [&mine](HttpReply r) { mine = std::move(r); });
  std::optional<HttpReply> admins;
  reads_.Get("q", "wait_ms=60000", admin_, [&admins](HttpReply r) { admins = std::move(r); });
  io_.poll();
  io_.restart();
  EXPECT_FALSE(mine) << mine->status << " " << mine->body;
  EXPECT_FALSE(admins) << admins->status << " " << admins->body;
  EXPECT_EQ(waiters_.size(), 2u);
  waiters_.Notify("q", Carried(store_.records["q"], R"("CARRIED")"));
  io_.poll();
  ASSERT_TRUE(mine);
  EXPECT_EQ(mine->status, 200) << mine->body;
  EXPECT_NE(mine->body.find("CARRIED"), std::string::npos) << mine->body;
  ASSERT_TRUE(admins);
  EXPECT_EQ(admins->status, 200) << admins->body;
}

TEST_F(JobReadsTest, ALongPollOfAJobCreatedHereForAnotherTenantStillReadsFirst) {
  waiters_.Listening(true);
  ASSERT_TRUE(waiters_.Expect("q", "t1"));
  std::optional<HttpReply> reply;
  reads_.Get("q", "wait_ms=60000", stranger_, [&reply](HttpReply r) { reply = std::move(r); });
  io_.poll();
  ASSERT_TRUE(reply) << "the stranger waited on another tenant's job";
  EXPECT_EQ(reply->status, 404) << reply->body;
  EXPECT_EQ(waiters_.size(), 0u);
}

TEST_F(JobReadsTest, AnInvalidWaitOrLimitIs400) {
  auto reply = Answer([&](Respond r) { reads_.Get("q", "wait_ms=-1", caller_, r); });
  EXPECT_EQ(reply->status, 400);
  reply = Answer([&](Respond r) { reads_.List("limit=0", caller_, r); });
  EXPECT_EQ(reply->status, 400);
  reply = Answer([&](Respond r) { reads_.List("limit=2", caller_, r); });
  EXPECT_EQ(reply->status, 200);
}

TEST_F(JobReadsTest, AResultNeedsASucceededJobAndAnUnexpiredBlob) {
  auto reply = Answer([&](Respond r) { reads_.GetResult("q", caller_, r); });
  EXPECT_EQ(reply->status, 409);
  EXPECT_EQ(test::JsonString(reply->body, "error", "code"), "no_result");
  reply = Answer([&](Respond r) { reads_.GetResult("d", caller_, r); });
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, R"("HI")");
  store_.records["d"].result_type = "image/png";
  reply = Answer([&](Respond r) { reads_.GetResult("d", caller_, r); });
  EXPECT_EQ(reply->status, 404);
  EXPECT_EQ(test::JsonString(reply->body, "error", "code"), "result_expired");
  store_.blobs["d"] = "PNG";
  reply = Answer([&](Respond r) { reads_.GetResult("d", caller_, r); });
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->content_type, "image/png");
}

TEST_F(JobReadsTest, CancelTakesAQueuedJobOutAndRefusesOneThatEnded) {
  auto reply = Answer([&](Respond r) { reads_.Cancel("q", caller_, r); });
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(test::JsonString(reply->body, "status"), "cancelled");
  EXPECT_EQ(broker_.cancelled, std::vector<std::string>{"q"});
  reply = Answer([&](Respond r) { reads_.Cancel("d", caller_, r); });
  EXPECT_EQ(reply->status, 409);
  EXPECT_EQ(test::JsonString(reply->body, "error", "code"), "not_cancellable");
  reply = Answer([&](Respond r) { reads_.Cancel("missing", caller_, r); });
  EXPECT_EQ(reply->status, 404);
}

// Through the group read, as the gateway runs: the records come back on its thread and
// the answers are still given on the wait's strand.
TEST(JobReadsGroupReadTest, ALongPollAndAWaitingBatchReadThroughTheGroupRead) {
  IoThreads threads(1);
  boost::asio::io_context& io = threads.First();
  test::FakeStore store;
  test::FakeBroker broker;
  CompletionWaiters waiters;
  GroupRead group_read({}, store);
  JobReads reads(threads, JobReads::Options{.group_read = &group_read}, store, broker, waiters);
  // Without it, run_for returns at once while the answers are still on the other thread.
  auto work = boost::asio::make_work_guard(io);
  JobRecord queued;
  queued.id = "q";
  queued.type = "upper";
  queued.tenant = "t1";
  queued.status = JobStatus::kQueued;
  store.records["q"] = queued;
  const Caller caller{"k1", "t1", kAllScopes, 0, 1, 0, 0};
  // Runs the io_context until `reply` is set (bounded): the group read answers from its
  // own thread.
  auto run_until = [&io](const std::optional<HttpReply>& reply) {
    for (int i = 0; i < 2000 && !reply; ++i) {
      io.run_for(std::chrono::milliseconds(5));
      io.restart();
    }
  };
  std::optional<HttpReply> reply;
  reads.Get("q", "wait_ms=60000", caller, [&reply](HttpReply r) { reply = std::move(r); });
  // The first read has come back once the wait holds a timer: then the notice ends it.
  for (int i = 0; i < 2000 && group_read.counts().reads < 1; ++i) {
    io.run_for(std::chrono::milliseconds(5));
    io.restart();
  }
  io.poll();
  EXPECT_FALSE(reply) << "queued: not answered before its notice";
  store.records["q"].status = JobStatus::kSucceeded;
  waiters.Notify("q");
  run_until(reply);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(test::JsonString(reply->body, "status"), "succeeded");
  EXPECT_EQ(group_read.counts().reads, 2u) << "the first read, and the one at the end";

  std::optional<HttpReply> missing;
  reads.Get("nope", "", caller, [&missing](HttpReply r) { missing = std::move(r); });
  run_until(missing);
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);

  std::optional<HttpReply> batch;
  std::vector<SubmitItemOutcome> items(1);
  items[0].id = "q";
  reads.AwaitBatchEnd(std::move(items), std::chrono::milliseconds(60000), caller,
                      HttpReply{202, "{}", "application/json", {}},
                      [&batch](HttpReply r) { batch = std::move(r); });
  run_until(batch);
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->status, 200) << "the job had ended: answered from the first read";
  group_read.Stop();
}

}  // namespace
}  // namespace batchq
