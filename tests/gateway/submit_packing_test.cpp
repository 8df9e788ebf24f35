// PackSubmits and PackedRequests alone, with time as an argument: requests queued
// together go out as few messages as the bounds allow, never split, and each request
// gets back exactly its own verdicts, its own timeout, or the error, once.
#include "gateway/submit_packing.h"

#include <optional>
#include <string>

#include <gtest/gtest.h>

namespace batchq {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

const Clock::time_point kStart{std::chrono::seconds(100)};

// What one request's callback was given, and how many times.
struct Seen {
  std::optional<Result<std::vector<wire::Verdict>>> answer;
  int calls = 0;
};

// A request of `count` jobs named "<name>.0", "<name>.1", ... with `input_bytes` each.
SubmitRequest Request(const std::string& name, std::size_t count, Seen& seen,
                      milliseconds timeout = milliseconds(1000), std::size_t input_bytes = 1) {
  SubmitRequest request;
  for (std::size_t i = 0; i < count; ++i) {
    wire::SubmitJob job;
    job.id = name + "." + std::to_string(i);
    job.input = std::string(input_bytes, 'x');
    request.jobs.push_back(std::move(job));
  }
  request.deadline = kStart + timeout;
  request.done = [&seen](Result<std::vector<wire::Verdict>> verdicts) {
    seen.answer = std::move(verdicts);
    ++seen.calls;
  };
  return request;
}

// The broker's answer to `submit`: each job's verdict names the job in its message.
std::vector<wire::Verdict> VerdictsNamingJobs(const wire::Submit& submit) {
  std::vector<wire::Verdict> verdicts;
  for (const auto& job : submit.jobs) verdicts.push_back(wire::Verdict{"", job.id, 0});
  return verdicts;
}

std::vector<std::string> Messages(const Seen& seen) {
  std::vector<std::string> out;
  if (!seen.answer || !*seen.answer) return out;
  for (const auto& verdict : **seen.answer) out.push_back(verdict.message);
  return out;
}

// The request was answered once, with an error of `code`.
void ExpectAnsweredOnceWith(const Seen& seen, ErrorCode code) {
  EXPECT_EQ(seen.calls, 1);
  ASSERT_TRUE(seen.answer.has_value());
  ASSERT_FALSE(seen.answer->has_value());
  EXPECT_EQ(seen.answer->error().code, code);
}

// Request "a" of one job and "b" of two, packed into one message.
std::vector<PackedSubmit> PackOneAndTwo(Seen& a, Seen& b) {
  std::vector<SubmitRequest> requests;
  requests.push_back(Request("a", 1, a));
  requests.push_back(Request("b", 2, b));
  return PackSubmits(std::move(requests), SubmitPackingLimits{});
}

std::vector<std::string> Ids(const wire::Submit& submit) {
  std::vector<std::string> out;
  for (const auto& job : submit.jobs) out.push_back(job.id);
  return out;
}

TEST(SubmitPackingTest, RequestsQueuedTogetherGoOutAsOneMessageInOrder) {
  Seen a, b, c;
  std::vector<SubmitRequest> requests;
  requests.push_back(Request("a", 1, a));
  requests.push_back(Request("b", 3, b));
  requests.push_back(Request("c", 2, c));
  auto packed = PackSubmits(std::move(requests), SubmitPackingLimits{});

  ASSERT_EQ(packed.size(), 1u);
  EXPECT_EQ(Ids(packed[0].submit),
            (std::vector<std::string>{"a.0", "b.0", "b.1", "b.2", "c.0", "c.1"}));
  EXPECT_EQ(packed[0].requests.jobs(), 6u);
  EXPECT_EQ(a.calls + b.calls + c.calls, 0);

  packed[0].requests.Answer(VerdictsNamingJobs(packed[0].submit));
  EXPECT_EQ(Messages(a), (std::vector<std::string>{"a.0"}));
  EXPECT_EQ(Messages(b), (std::vector<std::string>{"b.0", "b.1", "b.2"}));
  EXPECT_EQ(Messages(c), (std::vector<std::string>{"c.0", "c.1"}));
  EXPECT_EQ(a.calls + b.calls + c.calls, 3);
  EXPECT_TRUE(packed[0].requests.answered());
}

TEST(SubmitPackingTest, TheJobBoundStartsANewMessageAndNeverSplitsARequest) {
  Seen seen[4];
  std::vector<SubmitRequest> requests;
  requests.push_back(Request("a", 2, seen[0]));
  requests.push_back(Request("b", 2, seen[1]));
  requests.push_back(Request("c", 5, seen[2]));  // alone past the bound: goes alone
  requests.push_back(Request("d", 1, seen[3]));
  auto packed = PackSubmits(std::move(requests), SubmitPackingLimits{4, 1u << 20});

  ASSERT_EQ(packed.size(), 3u);
  EXPECT_EQ(Ids(packed[0].submit), (std::vector<std::string>{"a.0", "a.1", "b.0", "b.1"}));
  EXPECT_EQ(packed[1].submit.jobs.size(), 5u);
  EXPECT_EQ(Ids(packed[2].submit), (std::vector<std::string>{"d.0"}));
  for (auto& message : packed) message.requests.Answer(VerdictsNamingJobs(message.submit));
  EXPECT_EQ(Messages(seen[2]), (std::vector<std::string>{"c.0", "c.1", "c.2", "c.3", "c.4"}));
  EXPECT_EQ(Messages(seen[3]), (std::vector<std::string>{"d.0"}));
}

TEST(SubmitPackingTest, TheInputBoundStartsANewMessage) {
  Seen a, b, c;
  std::vector<SubmitRequest> requests;
  requests.push_back(Request("a", 1, a, milliseconds(1000), 600));
  requests.push_back(Request("b", 1, b, milliseconds(1000), 400));
  requests.push_back(Request("c", 1, c, milliseconds(1000), 1));
  auto packed = PackSubmits(std::move(requests), SubmitPackingLimits{512, 1000});

  ASSERT_EQ(packed.size(), 2u);
  EXPECT_EQ(Ids(packed[0].submit), (std::vector<std::string>{"a.0", "b.0"}));
  EXPECT_EQ(Ids(packed[1].submit), (std::vector<std::string>{"c.0"}));
}

TEST(SubmitPackingTest, AnErrorReachesEveryRequestOnce) {
  Seen a, b;
  auto packed = PackOneAndTwo(a, b);
  packed[0].requests.Answer(Fail(ErrorCode::kBrokerUnavailable, "not connected"));
  packed[0].requests.Answer(VerdictsNamingJobs(packed[0].submit));  // late: ignored

  ExpectAnsweredOnceWith(a, ErrorCode::kBrokerUnavailable);
  ExpectAnsweredOnceWith(b, ErrorCode::kBrokerUnavailable);
}

TEST(SubmitPackingTest, AnAnswerOfTheWrongLengthGivesNoRequestAnotherJobsVerdict) {
  Seen a, b;
  auto packed = PackOneAndTwo(a, b);
  auto verdicts = VerdictsNamingJobs(packed[0].submit);
  verdicts.erase(verdicts.begin());  // one verdict missing: whose, the answer cannot say
  packed[0].requests.Answer(std::move(verdicts));

  ExpectAnsweredOnceWith(a, ErrorCode::kBadFrame);
  ExpectAnsweredOnceWith(b, ErrorCode::kBadFrame);
}

TEST(SubmitPackingTest, EachRequestTimesOutAtItsOwnDeadline) {
  Seen soon, later;
  std::vector<SubmitRequest> requests;
  requests.push_back(Request("soon", 1, soon, milliseconds(100)));
  requests.push_back(Request("later", 2, later, milliseconds(300)));
  auto packed = PackSubmits(std::move(requests), SubmitPackingLimits{});
  PackedRequests& waiting = packed[0].requests;
  const Error late{ErrorCode::kBrokerTimeout, "late"};

  // Each call says when the next request still waiting is due: the link sleeps until then.
  EXPECT_EQ(waiting.Expire(kStart + milliseconds(99), late), kStart + milliseconds(100));
  EXPECT_EQ(soon.calls, 0);
  EXPECT_EQ(waiting.Expire(kStart + milliseconds(100), late), kStart + milliseconds(300));
  ExpectAnsweredOnceWith(soon, ErrorCode::kBrokerTimeout);
  EXPECT_EQ(later.calls, 0);
  EXPECT_FALSE(waiting.answered());

  // The answer comes: the request still waiting gets its own verdicts, and only once.
  waiting.Answer(VerdictsNamingJobs(packed[0].submit));
  EXPECT_EQ(Messages(later), (std::vector<std::string>{"later.0", "later.1"}));
  EXPECT_EQ(soon.calls, 1);
  EXPECT_TRUE(waiting.answered());
  EXPECT_EQ(waiting.Expire(kStart + milliseconds(1000), late), std::nullopt);
  EXPECT_EQ(later.calls, 1);
}

}  // namespace
}  // namespace batchq
