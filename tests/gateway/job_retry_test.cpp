// JobRetry against in-memory ports: Redis first, then the broker; a refusal ends the job
// again with its reason and is answered with it; no answer leaves the job pending.
#include "gateway/job_retry.h"

#include <gtest/gtest.h>

#include "tests/gateway/gateway_fakes.h"
#include "tests/support/stack.h"

namespace batchq {
namespace {

using test::FakeBroker;
using test::FakeStore;

class JobRetryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    JobRecord failed;
    failed.id = "job1";
    failed.type = "upper";
    failed.tenant = "default";
    failed.status = JobStatus::kFailed;
    failed.attempts = 2;
    failed.input = "\"x\"";
    failed.error_code = "transient_error";
    store_.records["job1"] = failed;
  }
  HttpReply Retry(const std::string& id, const Caller& caller = UnauthenticatedCaller()) {
    JobRetry retry(store_, broker_, std::chrono::milliseconds(100),
                   [](std::function<void()> task) { task(); });
    std::optional<HttpReply> reply;
    int answers = 0;
    retry.Handle(id, caller, [&](HttpReply r) {
      reply = std::move(r);
      ++answers;
    });
    EXPECT_EQ(answers, 1) << "every request is answered exactly once";
    return reply.value_or(HttpReply{0, "", "", {}});
  }

  FakeStore store_;
  FakeBroker broker_;
};

TEST_F(JobRetryTest, AFailedJobIsQueuedAgainAndHandedToTheBrokerWithItsAttempts) {
  const HttpReply reply = Retry("job1");
  EXPECT_EQ(reply.status, 202) << reply.body;
  EXPECT_EQ(test::JsonString(reply.body, "status"), "queued");
  ASSERT_EQ(broker_.submitted.size(), 1u);
  EXPECT_EQ(broker_.submitted[0].id, "job1");
  EXPECT_EQ(broker_.submitted[0].attempts, 2u) << "the next run is attempt 3";
  EXPECT_EQ(broker_.submitted[0].input, "\"x\"");
  EXPECT_EQ(store_.records["job1"].status, JobStatus::kQueued);
}

TEST_F(JobRetryTest, ABrokerRefusalEndsTheJobAgainWithItsReasonAndRetryAfter) {
  broker_.refuse = {wire::Verdict{"queue_full", "The queue is full.", 3000}};
  const HttpReply reply = Retry("job1");
  EXPECT_EQ(reply.status, 429) << reply.body;
  EXPECT_EQ(test::JsonString(reply.body, "error", "code"), "queue_full");
  bool retry_after = false;
  for (const auto& [name, value] : reply.headers)
    retry_after |= name == "Retry-After" && value == "3";
  EXPECT_TRUE(retry_after);
  EXPECT_EQ(store_.records["job1"].status, JobStatus::kFailed);
  EXPECT_EQ(store_.records["job1"].error_code, "queue_full");
}

TEST_F(JobRetryTest, NoAnswerFromTheBrokerLeavesTheJobPendingForItsSweep) {
  broker_.timeout = true;
  EXPECT_EQ(Retry("job1").status, 202);
  EXPECT_EQ(store_.records["job1"].status, JobStatus::kQueued);
}

TEST_F(JobRetryTest, RefusesJobsThatRunOrSucceededOrThatTheCallerMayNotSee) {
  store_.records["job1"].status = JobStatus::kSucceeded;
  const HttpReply succeeded = Retry("job1");
  EXPECT_EQ(succeeded.status, 409);
  EXPECT_EQ(test::JsonString(succeeded.body, "error", "code"), "not_retryable");
  EXPECT_NE(succeeded.body.find("succeeded"), std::string::npos) << succeeded.body;
  EXPECT_EQ(Retry("missing").status, 404);
  store_.records["job1"].status = JobStatus::kFailed;
  Caller other = UnauthenticatedCaller();
  other.tenant = "other";
  other.scopes = static_cast<ScopeSet>(Scope::kSubmit) | static_cast<ScopeSet>(Scope::kRead);
  EXPECT_EQ(Retry("job1", other).status, 404);
  broker_.up = false;
  EXPECT_EQ(Retry("job1").status, 503);
  EXPECT_EQ(store_.records["job1"].status, JobStatus::kFailed) << "nothing changed";
  EXPECT_TRUE(broker_.submitted.empty());
}

}  // namespace
}  // namespace batchq
