// Which channel each job change goes to, on a real Redis under the roles' ACL users, as
// the gateway, broker and workers publish them: queued and started changes on
// bq:progress (heard only by gateways with event streams open; the started ones only
// while someone is subscribed), endings on bq:done
// (heard by every gateway, for its long-polls). One connection hears both, as the
// gateway's listener does, so the order across the two channels is the order of the
// scripts' publishes.
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
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

NewJob ChannelsJob(std::uint32_t max_retries = 0) { return AcmeUpperJob("channels", max_retries); }

// "channel: id status, id status" for one message of plain changes (carried records
// are left out, as the streams leave them).
std::string Describe(const Event& event) {
  std::string text = event.channel + ":";
  for (const JobChange& change : ParseJobChanges(event.payload)) {
    if (!change.carried.empty()) return event.channel + ": carried";
    text += fmt::format(" {} {},", change.id, ToString(change.status));
  }
  text.pop_back();
  return text;
}

// The next message; "" when none came within 5 s.
std::string NextMessage(RedisConnection& subscriber) {
  for (int i = 0; i < 50; ++i) {
    auto event = subscriber.NextEvent(100ms);
    if (!event) throw std::runtime_error(event.error().message);
    if (*event && (*event)->kind == Event::Kind::kMessage) return Describe(**event);
  }
  return "";
}

// Subscribes `subscriber` to bq:done, then asks for bq:progress as the gateway's listener
// does; what Redis answered to that (kWoken, which never comes here, when nothing did).
Event HearBoth(RedisConnection& subscriber) {
  if (!subscriber.Subscribe("bq:done") ||
      !subscriber.SendSubscription(RedisConnection::Subscription::kSubscribe, "bq:progress")) {
    throw std::runtime_error("could not subscribe");
  }
  auto answer = subscriber.NextEvent(5s);
  if (!answer) throw std::runtime_error(answer.error().message);
  return answer->value_or(Event{Event::Kind::kWoken, {}, {}});
}

class ChangeChannelsTest : public RoleStoresTest {
 protected:
  // A batch of `size` jobs under the current broker epoch, as a worker is given one.
  BatchStart Batch(std::string id, std::uint32_t size) {
    return BatchStart{std::move(id),   size,   "w1",           NowWallMicros(),
                      NowWallMicros(), "full", roles_->Epoch()};
  }
};

TEST_F(ChangeChannelsTest, QueuedAndStartedChangesGoToProgressAndEndingsToDone) {
  auto& [gateway_redis, broker_redis, worker_redis, gateway, broker, worker] = *roles_;
  RedisConnection subscriber = RoleRedis(stack_, "gateway");
  const Event answer = HearBoth(subscriber);
  ASSERT_EQ(answer.kind, Event::Kind::kSubscribed);
  ASSERT_EQ(answer.channel, "bq:progress");

  // a succeeds, b fails with a retry left, c fails for good.
  std::vector<NewJob> jobs = {ChannelsJob(), ChannelsJob(1), ChannelsJob()};
  const std::string& a = jobs[0].id;
  const std::string& b = jobs[1].id;
  const std::string& c = jobs[2].id;
  ASSERT_TRUE(gateway.Create(jobs));
  EXPECT_EQ(NextMessage(subscriber),
            fmt::format("bq:progress: {} queued, {} queued, {} queued", a, b, c));

  NewJob claimed = ChannelsJob();
  // The claim holds views: its key must outlive it.
  const std::string key = "acme:channels-key-" + claimed.id;
  const IdempotencyClaim claim{key, "fingerprint"};
  ASSERT_TRUE(gateway.Create(std::span(&claimed, 1), claim));
  EXPECT_EQ(NextMessage(subscriber), fmt::format("bq:progress: {} queued", claimed.id));

  std::vector<JobClaim> runs;
  for (const auto& job : jobs) runs.push_back({job.id, 1});
  ASSERT_TRUE(worker.Start(Batch("b1", 3), runs));
  EXPECT_EQ(NextMessage(subscriber),
            fmt::format("bq:progress: {} running, {} running, {} running", a, b, c));

  std::vector<JobOutcome> outcomes = {
      {.id = a, .attempt = 1, .succeeded = true, .result = "\"X\""},
      {.id = b, .attempt = 1, .error_code = ErrorCode::kTransientError, .error_message = "again"},
      {.id = c, .attempt = 1, .error_code = ErrorCode::kHandlerError, .error_message = "no"}};
  ASSERT_TRUE(worker.Finish(outcomes));
  EXPECT_EQ(NextMessage(subscriber), fmt::format("bq:progress: {} queued", b))
      << "a job queued again for its retry";
  EXPECT_EQ(NextMessage(subscriber), "bq:done: carried");
  EXPECT_EQ(NextMessage(subscriber), fmt::format("bq:done: {} succeeded, {} failed", a, c));

  JobStatus status{};
  ASSERT_EQ(gateway.Requeue(c, &status), RequeueOutcome::kQueued);
  EXPECT_EQ(NextMessage(subscriber), fmt::format("bq:progress: {} queued", c))
      << "a job queued again by POST :retry";
  ASSERT_EQ(gateway.Cancel(c, "test", &status), CancelOutcome::kCancelled);
  EXPECT_EQ(NextMessage(subscriber), fmt::format("bq:done: {} cancelled", c));
}

// A batch claimed at write (claim_timing.h) was never marked running: its write publishes
// the running changes first, so that a stream still sees each job run before it ends.
TEST_F(ChangeChannelsTest, AClaimAtWritePublishesItsRunningChangesBeforeItsEndings) {
  auto& [gateway_redis, broker_redis, worker_redis, gateway, broker, worker] = *roles_;
  RedisConnection subscriber = RoleRedis(stack_, "gateway");
  ASSERT_EQ(HearBoth(subscriber).kind, Event::Kind::kSubscribed);

  // a succeeds, b fails with a retry left.
  std::vector<NewJob> jobs = {ChannelsJob(), ChannelsJob(1)};
  const std::string& a = jobs[0].id;
  const std::string& b = jobs[1].id;
  ASSERT_TRUE(gateway.Create(jobs));
  EXPECT_EQ(NextMessage(subscriber), fmt::format("bq:progress: {} queued, {} queued", a, b));

  const BatchStart start = Batch("b1", 2);
  std::vector<JobOutcome> outcomes = {
      {.id = a, .attempt = 1, .succeeded = true, .result = "\"X\""},
      {.id = b, .attempt = 1, .error_code = ErrorCode::kTransientError, .error_message = "again"}};
  ASSERT_TRUE(worker.Finish(outcomes, &start));
  EXPECT_EQ(NextMessage(subscriber), fmt::format("bq:progress: {} running, {} running", a, b));
  EXPECT_EQ(NextMessage(subscriber), fmt::format("bq:progress: {} queued", b))
      << "a job queued again for its retry";
  EXPECT_EQ(NextMessage(subscriber), "bq:done: carried");
  EXPECT_EQ(NextMessage(subscriber), fmt::format("bq:done: {} succeeded", a));
}

// The running changes are read only by event streams, through a gateway that subscribes
// to bq:progress while one is open: with no one subscribed, a start and a claim at write
// publish none, and once someone is, they publish them again.
TEST_F(ChangeChannelsTest, RunningChangesAreLeftOutWhileNoOneHearsProgress) {
  auto& [gateway_redis, broker_redis, worker_redis, gateway, broker, worker] = *roles_;
  RedisConnection subscriber = RoleRedis(stack_, "gateway");
  ASSERT_TRUE(subscriber.Subscribe("bq:done"));  // a gateway with no stream open

  std::vector<NewJob> jobs = {ChannelsJob(), ChannelsJob(), ChannelsJob(), ChannelsJob()};
  ASSERT_TRUE(gateway.Create(jobs));
  const auto succeeded = [](const NewJob& job) {
    return JobOutcome{.id = job.id, .attempt = 1, .succeeded = true, .result = "\"X\""};
  };
  // Each step's PUBLISH calls: a start of jobs[0], a claim at write of jobs[1], then the
  // same with someone on bq:progress (jobs[2] and jobs[3]).
  const auto publishes_of = [&](const auto& step) {
    const std::int64_t before = CommandCalls(*admin_, "publish");
    step();
    return CommandCalls(*admin_, "publish") - before;
  };
  const auto start_one = [&](const NewJob& job) {
    const std::vector<JobClaim> runs = {{job.id, 1}};
    auto started = worker.Start(Batch("b1", 1), runs);
    ASSERT_TRUE(started && *started == std::vector<bool>{true});
  };
  const auto claim_one = [&](const NewJob& job) {
    const BatchStart claim = Batch("b2", 1);
    ASSERT_TRUE(worker.Finish(std::vector{succeeded(job)}, &claim));
  };
  EXPECT_EQ(publishes_of([&] { start_one(jobs[0]); }), 0) << "a start published for no one";
  const std::int64_t unheard_claim = publishes_of([&] { claim_one(jobs[1]); });
  EXPECT_EQ(NextMessage(subscriber), "bq:done: carried");
  EXPECT_EQ(NextMessage(subscriber), fmt::format("bq:done: {} succeeded", jobs[1].id));

  RedisConnection streams = RoleRedis(stack_, "gateway");
  ASSERT_TRUE(streams.Subscribe("bq:progress"));  // a gateway with a stream open
  EXPECT_EQ(publishes_of([&] { start_one(jobs[2]); }), 1);
  EXPECT_EQ(NextMessage(streams), fmt::format("bq:progress: {} running", jobs[2].id));
  EXPECT_EQ(publishes_of([&] { claim_one(jobs[3]); }), unheard_claim + 1)
      << "a claim at write heard publishes its running changes, one message more";
  EXPECT_EQ(NextMessage(streams), fmt::format("bq:progress: {} running", jobs[3].id));
}

// A worker's ACL user from before that check may not ask PUBSUB NUMSUB: the scripts then
// publish the running changes as if someone listened, and the jobs are written.
TEST_F(ChangeChannelsTest, RunningChangesStillFlowUnderAWorkerAclWithoutNumsub) {
  auto& [gateway_redis, broker_redis, worker_redis, gateway, broker, worker] = *roles_;
  auto set = admin_->Command({"ACL", "SETUSER", "worker", "-pubsub|numsub"});
  ASSERT_TRUE(set && !set->is_error());
  RedisConnection subscriber = RoleRedis(stack_, "gateway");
  ASSERT_EQ(HearBoth(subscriber).kind, Event::Kind::kSubscribed);

  std::vector<NewJob> jobs = {ChannelsJob(), ChannelsJob()};
  ASSERT_TRUE(gateway.Create(jobs));
  EXPECT_EQ(NextMessage(subscriber),
            fmt::format("bq:progress: {} queued, {} queued", jobs[0].id, jobs[1].id));
  const std::vector<JobClaim> runs = {{jobs[0].id, 1}};
  auto started = worker.Start(Batch("b1", 1), runs);
  ASSERT_TRUE(started) << started.error().message;
  EXPECT_EQ(*started, std::vector<bool>{true});
  EXPECT_EQ(NextMessage(subscriber), fmt::format("bq:progress: {} running", jobs[0].id));

  const BatchStart claim = Batch("b2", 1);
  auto finished = worker.Finish(
      std::vector<JobOutcome>{{.id = jobs[1].id, .attempt = 1, .succeeded = true, .result = "1"}},
      &claim);
  ASSERT_TRUE(finished) << finished.error().message;
  EXPECT_EQ(NextMessage(subscriber), fmt::format("bq:progress: {} running", jobs[1].id));
  EXPECT_EQ(NextMessage(subscriber), "bq:done: carried");
  EXPECT_EQ(NextMessage(subscriber), fmt::format("bq:done: {} succeeded", jobs[1].id));
}

// An ACL file made before the progress channel existed grants only bq:done. Redis then
// refuses every PUBLISH to bq:progress; that must cost the notices, never the jobs.
TEST_F(ChangeChannelsTest, JobsStillFlowUnderAnAclThatPredatesTheProgressChannel) {
  auto& [gateway_redis, broker_redis, worker_redis, gateway, broker, worker] = *roles_;
  for (const char* role : {"gateway", "broker", "worker"}) {
    auto set = admin_->Command({"ACL", "SETUSER", role, "resetchannels", "&bq:done"});
    ASSERT_TRUE(set && !set->is_error()) << role;
  }
  RedisConnection subscriber = RoleRedis(stack_, "gateway");
  EXPECT_EQ(HearBoth(subscriber).kind, Event::Kind::kRefused) << "the old ACL granted bq:progress";

  std::vector<NewJob> jobs = {ChannelsJob(), ChannelsJob(1), ChannelsJob()};
  ASSERT_TRUE(gateway.Create(jobs)) << "the group was refused with its notice";
  NewJob claimed = ChannelsJob();
  // The claim holds views: its key must outlive it.
  const std::string key = "acme:channels-key-" + claimed.id;
  const IdempotencyClaim claim{key, "fingerprint"};
  ASSERT_TRUE(gateway.Create(std::span(&claimed, 1), claim));
  std::vector<JobClaim> runs;
  for (const auto& job : jobs) runs.push_back({job.id, 1});
  auto started = worker.Start(Batch("b1", 3), runs);
  ASSERT_TRUE(started) << started.error().message;
  EXPECT_EQ(*started, (std::vector<bool>{true, true, true}));
  std::vector<JobOutcome> outcomes = {
      {.id = jobs[0].id, .attempt = 1, .succeeded = true, .result = "\"X\""},
      {.id = jobs[1].id, .attempt = 1, .error_code = ErrorCode::kTransientError},
      {.id = jobs[2].id, .attempt = 1, .error_code = ErrorCode::kHandlerError}};
  auto finished = worker.Finish(outcomes);
  ASSERT_TRUE(finished) << finished.error().message;
  EXPECT_EQ(NextMessage(subscriber), "bq:done: carried");
  EXPECT_EQ(NextMessage(subscriber),
            fmt::format("bq:done: {} succeeded, {} failed", jobs[0].id, jobs[2].id));
  JobStatus status{};
  auto requeued = gateway.Requeue(jobs[2].id, &status);
  ASSERT_TRUE(requeued) << requeued.error().message;
  EXPECT_EQ(*requeued, RequeueOutcome::kQueued);

  const std::vector<std::pair<std::string, JobStatus>> expected = {
      {jobs[0].id, JobStatus::kSucceeded},
      {jobs[1].id, JobStatus::kQueued},
      {jobs[2].id, JobStatus::kQueued},
      {claimed.id, JobStatus::kQueued}};
  for (const auto& [id, want] : expected) {
    auto record = gateway.Get(id);
    ASSERT_TRUE(record && *record) << id;
    EXPECT_EQ((*record)->status, want) << id;
  }
}

}  // namespace
}  // namespace batchq::test
