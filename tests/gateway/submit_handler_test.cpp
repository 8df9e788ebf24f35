// SubmitHandler against in-memory ports: parse → admit → persist → forward → answer.
#include "gateway/submit_handler.h"

#include <future>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include "tests/gateway/gateway_fakes.h"
#include "tests/support/stack.h"

namespace batchq {
namespace {

using test::FakeBroker;
using test::FakeStore;

// Each element of the array at `key`, as compact JSON.
std::vector<std::string> JsonArray(const std::string& body, const char* key) {
  simdjson::dom::parser parser;
  simdjson::dom::array array;
  std::vector<std::string> out;
  if (parser.parse(body)[key].get(array) != simdjson::SUCCESS) return out;
  for (auto element : array) out.push_back(simdjson::minify(element));
  return out;
}

class SubmitHandlerTest : public ::testing::Test {
 protected:
  HttpReply Submit(std::string body, bool batch = false, std::string key = "",
                   std::string content_type = "application/json") {
    commit_.replicas_ack = options_.replicas_ack;
    SubmitHandler handler = Handler();
    return SubmitTo(handler, std::move(body), batch, std::move(key), std::move(content_type));
  }
  SubmitHandler Handler() {
    return SubmitHandler(options_, store_, commit_, broker_, [] {
      return SubmitHandler::Post([](std::function<void()> task) { task(); });
    });
  }
  HttpReply SubmitTo(SubmitHandler& handler, std::string body, bool batch = false,
                     std::string key = "", std::string content_type = "application/json") {
    HttpRequestIn request;
    request.method = "POST";
    request.path = batch ? "/v1/jobs:batch" : "/v1/jobs";
    request.content_type = std::move(content_type);
    request.idempotency_key = std::move(key);
    request.body = std::move(body);
    std::optional<HttpReply> reply;
    int answers = 0;
    handler.Handle(request, batch, UnauthenticatedCaller(), [&](SubmitAnswer r) {
      reply = std::move(r.reply);
      ++answers;
    });
    EXPECT_EQ(answers, 1) << "every request is answered exactly once";
    return reply.value_or(HttpReply{0, "", "", {}});
  }
  // Submits an `upper` job as `caller` and waits for the answer, which may come from
  // another thread: the answer, and the thread it came on.
  struct Answered {
    HttpReply reply;
    std::thread::id thread;
  };
  static Answered SubmitAndWait(SubmitHandler& handler, const std::string& key = "",
                                const Caller& caller = UnauthenticatedCaller()) {
    HttpRequestIn request;
    request.method = "POST";
    request.path = "/v1/jobs";
    request.content_type = "application/json";
    request.idempotency_key = key;
    request.body = R"({"type":"upper","input":1})";
    std::promise<Answered> answered;
    handler.Handle(request, false, caller, [&answered](SubmitAnswer answer) {
      answered.set_value({std::move(answer.reply), std::this_thread::get_id()});
    });
    return answered.get_future().get();
  }
  static std::string Header(const HttpReply& reply, std::string_view name) {
    for (const auto& [key, value] : reply.headers) {
      if (key == name) return value;
    }
    return "";
  }
  static std::string Code(const HttpReply& reply) {
    return test::JsonString(reply.body, "error", "code");
  }

  SubmitHandler::Options options_;
  FakeStore store_;
  test::InlineCommit commit_{store_};
  FakeBroker broker_;
};

TEST_F(SubmitHandlerTest, ATenantWithoutRoomForTheInputIsRefusedAndNothingIsStored) {
  StoredBytesQuota quota({.default_cap = 4000, .refresh = std::chrono::milliseconds(0)});
  options_.stored_quota = &quota;
  const WallMicros in_an_hour = NowWallMicros() + std::chrono::hours(1);
  store_.stored["default"] =
      StoredBytes{3000, std::chrono::duration_cast<std::chrono::seconds>(in_an_hour)};
  const HttpReply small = Submit(R"({"type":"upper","input":"fits"})");
  EXPECT_EQ(small.status, 202) << small.body;
  EXPECT_EQ(store_.records.size(), 1u);

  const HttpReply big =
      Submit(fmt::format(R"({{"type":"upper","input":"{}"}})", std::string(600, 'x')));
  EXPECT_EQ(big.status, 429) << big.body;
  EXPECT_EQ(Code(big), "quota_exceeded");
  const int retry_after = std::stoi(Header(big, "Retry-After"));
  EXPECT_GT(retry_after, 3500) << "the soonest release is an hour away";
  EXPECT_LE(retry_after, 3600);
  EXPECT_EQ(store_.records.size(), 1u) << "a refused job is never written";
  EXPECT_EQ(broker_.submitted.size(), 1u);

  // A batch is admitted or refused whole.
  const HttpReply batch = Submit(
      fmt::format(R"({{"jobs":[{{"type":"upper","input":"a"}},{{"type":"upper","input":"{}"}}]}})",
                  std::string(300, 'y')),
      true);
  EXPECT_EQ(batch.status, 429) << batch.body;
  EXPECT_EQ(store_.records.size(), 1u);
  EXPECT_EQ(store_.stored_reads, 3) << "a refresh of 0 reads the account for every submit";
}

TEST_F(SubmitHandlerTest, AnAcceptedJobIsDurableBeforeItsAnswerAndForwarded) {
  const HttpReply reply = Submit(R"({"type":"upper","input":"hi"})");
  EXPECT_EQ(reply.status, 202);
  const std::string id = test::JsonString(reply.body, "id");
  EXPECT_EQ(test::JsonString(reply.body, "status"), "queued");
  EXPECT_EQ(Header(reply, "Location"), "/v1/jobs/" + id);
  ASSERT_EQ(store_.records.count(id), 1u);
  EXPECT_EQ(store_.records[id].input, R"("hi")");
  ASSERT_EQ(broker_.submitted.size(), 1u);
  EXPECT_EQ(broker_.submitted[0].id, id);
}

TEST_F(SubmitHandlerTest, RefusesBadRequestsBeforeWritingAnything) {
  EXPECT_EQ(Submit("{}", false, "", "text/plain").status, 415);
  const HttpReply bad_json = Submit("{nope");
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_EQ(Code(bad_json), "invalid_json");
  const HttpReply unknown = Submit(R"({"type":"render","input":1})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(Code(unknown), "unknown_type");
  const HttpReply bad_key = Submit(R"({"type":"upper","input":1})", false, "has space");
  EXPECT_EQ(bad_key.status, 400);
  EXPECT_TRUE(store_.records.empty());
  EXPECT_TRUE(broker_.submitted.empty());
}

TEST_F(SubmitHandlerTest, NoBrokerOrNoRedisIs503WithRetryAfter) {
  broker_.up = false;
  HttpReply reply = Submit(R"({"type":"upper","input":1})");
  EXPECT_EQ(reply.status, 503);
  EXPECT_EQ(Code(reply), "broker_unavailable");
  EXPECT_EQ(Header(reply, "Retry-After"), "1");
  broker_.up = true;
  store_.down = true;
  reply = Submit(R"({"type":"upper","input":1})");
  EXPECT_EQ(reply.status, 503);
  EXPECT_EQ(Code(reply), "redis_unavailable");
  EXPECT_TRUE(broker_.submitted.empty());
}

TEST_F(SubmitHandlerTest, AJobTheBrokerRefusesIsRemovedAndAnswered429) {
  broker_.refuse = {wire::Verdict{"queue_full", "The queue is full.", 2500}};
  const HttpReply reply = Submit(R"({"type":"upper","input":1})");
  EXPECT_EQ(reply.status, 429);
  EXPECT_EQ(Code(reply), "queue_full");
  EXPECT_EQ(Header(reply, "Retry-After"), "3");
  EXPECT_TRUE(store_.records.empty()) << "a refused job must not stay where the sweep finds it";
}

TEST_F(SubmitHandlerTest, ARefusedJobThatCannotBeRemovedStaysAccepted) {
  // Told 429, the client would never hear of it, yet the sweep would run it: so it is
  // accepted instead, and the sweep's run is the one the client was promised.
  broker_.refuse = {wire::Verdict{"queue_full", "The queue is full.", 1000}};
  store_.fail_remove = true;
  const HttpReply reply = Submit(R"({"type":"upper","input":1})");
  EXPECT_EQ(reply.status, 202);
  EXPECT_EQ(store_.records.size(), 1u);
}

TEST_F(SubmitHandlerTest, AnswersThatCallRedisRunOnTheBlockingThreads) {
  // An accepted job's answer needs no Redis and is posted as before (inline here); a
  // replay's read and a refused job's withdrawal run on the blocking-call threads.
  BlockingCalls blocking({.threads = 1, .max_queued = 16});
  options_.blocking = &blocking;
  SubmitHandler handler = Handler();
  const std::thread::id here = std::this_thread::get_id();
  const auto accepted = SubmitAndWait(handler, "k1");
  EXPECT_EQ(accepted.reply.status, 202);
  EXPECT_EQ(accepted.thread, here);
  const auto replayed = SubmitAndWait(handler, "k1");
  EXPECT_EQ(replayed.reply.status, 202);
  EXPECT_NE(replayed.thread, here);
  broker_.refuse = {wire::Verdict{"queue_full", "full", 1000}};
  const auto refused = SubmitAndWait(handler, "k2");
  EXPECT_EQ(refused.reply.status, 429);
  EXPECT_NE(refused.thread, here);
  EXPECT_EQ(store_.records.size(), 1u) << "the refused job was withdrawn";
  blocking.Stop();
  EXPECT_EQ(blocking.counts().ran, 2u);
}

TEST_F(SubmitHandlerTest, ADurableJobGoesToTheBrokerWithoutAHopThroughAnIoThread) {
  // Only the broker's verdict is posted to an I/O thread; the commit's answer forwards
  // the job from where it arrives (each post was a thread hop per submit).
  int posts = 0;
  SubmitHandler handler(options_, store_, commit_, broker_, [&posts] {
    return SubmitHandler::Post([&posts](std::function<void()> task) {
      ++posts;
      task();
    });
  });
  EXPECT_EQ(SubmitTo(handler, R"({"type":"upper","input":1})").status, 202);
  EXPECT_EQ(posts, 1);
  EXPECT_EQ(
      SubmitTo(handler, R"({"jobs":[{"type":"upper","input":1},{"type":"upper","input":2}]})", true)
          .status,
      202);
  EXPECT_EQ(posts, 2);
  EXPECT_EQ(store_.records.size(), 3u);
}

TEST_F(SubmitHandlerTest, TheBrokersVerdictIsAnsweredWhereItsRequestArrived) {
  // The gateway's PostFrom names the I/O thread a request arrived on; here a "place"
  // the test sets before each submit stands for it. The verdicts come after both
  // submits, so only a place taken at Handle (not when the verdict is posted) is right.
  std::string place;
  std::vector<std::string> answered_at;
  SubmitHandler handler(options_, store_, commit_, broker_, [&place, &answered_at] {
    return SubmitHandler::Post([&answered_at, at = place](std::function<void()> task) {
      answered_at.push_back(at);
      task();
    });
  });
  broker_.hold = true;
  std::vector<int> statuses;
  auto send = [&](const std::string& body) {
    HttpRequestIn request;
    request.method = "POST";
    request.path = "/v1/jobs";
    request.content_type = "application/json";
    request.body = body;
    handler.Handle(request, false, UnauthenticatedCaller(),
                   [&](SubmitAnswer answer) { statuses.push_back(answer.reply.status); });
  };
  place = "first thread";
  send(R"({"type":"upper","input":1})");
  place = "second thread";
  send(R"({"type":"upper","input":2})");
  place = "the broker link";
  EXPECT_TRUE(answered_at.empty());
  broker_.Release();
  EXPECT_EQ(statuses, (std::vector<int>{202, 202}));
  EXPECT_EQ(answered_at, (std::vector<std::string>{"first thread", "second thread"}));
}

TEST_F(SubmitHandlerTest, AStaleStoredBytesFigureIsReadOnTheBlockingThreadsOr503) {
  StoredBytesQuota quota({.default_cap = 1 << 20, .refresh = std::chrono::hours(1)});
  options_.stored_quota = &quota;
  BlockingCalls blocking({.threads = 1, .max_queued = 16});
  options_.blocking = &blocking;
  SubmitHandler handler = Handler();
  const std::thread::id here = std::this_thread::get_id();
  // The first submit reads the tenant's figure: on the blocking thread (and its answer
  // is posted back, inline here, from there).
  const auto first = SubmitAndWait(handler);
  EXPECT_EQ(first.reply.status, 202);
  EXPECT_NE(first.thread, here);
  EXPECT_EQ(store_.stored_reads, 1);
  // The figure is fresh for an hour: the next submit stays on this thread.
  const auto second = SubmitAndWait(handler);
  EXPECT_EQ(second.reply.status, 202);
  EXPECT_EQ(second.thread, here);
  EXPECT_EQ(store_.stored_reads, 1);
  // Another tenant's figure is not read yet; with the blocking threads refusing (stopped
  // here, as when full), its submit is refused at once and nothing is written.
  blocking.Stop();
  EXPECT_EQ(blocking.counts().ran, 1u);  // read after Stop: a call is counted once it returns
  Caller other = UnauthenticatedCaller();
  other.tenant = "other";
  const auto refused = SubmitAndWait(handler, "", other);
  EXPECT_EQ(refused.reply.status, 503);
  EXPECT_EQ(Code(refused.reply), "overloaded");
  EXPECT_EQ(refused.thread, here) << "refused at once";
  EXPECT_EQ(store_.records.size(), 2u);
}

TEST_F(SubmitHandlerTest, WithReplicasAckAJobIsAcceptedOnlyOnceEnoughReplicasHaveIt) {
  options_.replicas_ack = 2;
  store_.replicas_reached = 2;
  const HttpReply confirmed = Submit(R"({"type":"upper","input":1})", false, "k1");
  EXPECT_EQ(confirmed.status, 202) << confirmed.body;
  EXPECT_EQ(store_.replica_waits, 1);
  EXPECT_EQ(broker_.submitted.size(), 1u);

  // One replica of two: the job is withdrawn before the broker hears of it, and the
  // key is free for the retry.
  store_.replicas_reached = 1;
  const HttpReply short_of_one = Submit(R"({"type":"upper","input":2})", false, "k2");
  EXPECT_EQ(short_of_one.status, 503) << short_of_one.body;
  EXPECT_EQ(Code(short_of_one), "not_replicated");
  EXPECT_NE(short_of_one.body.find("reached 1 of the 2"), std::string::npos) << short_of_one.body;
  EXPECT_EQ(Header(short_of_one, "Retry-After"), "1");
  EXPECT_EQ(store_.records.size(), 1u) << "only the confirmed job is left";
  EXPECT_EQ(store_.keys.count("k2"), 0u);
  EXPECT_EQ(broker_.submitted.size(), 1u);

  const HttpReply batch =
      Submit(R"({"jobs":[{"type":"upper","input":3},{"type":"upper","input":4}]})", true);
  EXPECT_EQ(batch.status, 503) << batch.body;
  EXPECT_EQ(store_.records.size(), 1u) << "a batch is withdrawn whole";

  // The master died while waiting: the job cannot be withdrawn, and may survive the
  // failover or not. It is still never answered 202, which would promise what may be lost.
  store_.fail_remove = true;
  const HttpReply unknown = Submit(R"({"type":"upper","input":6})");
  EXPECT_EQ(unknown.status, 503) << unknown.body;
  EXPECT_NE(unknown.body.find("may run"), std::string::npos) << unknown.body;
  store_.fail_remove = false;

  options_.replicas_ack = 0;
  const int waits = store_.replica_waits;
  EXPECT_EQ(Submit(R"({"type":"upper","input":5})").status, 202);
  EXPECT_EQ(store_.replica_waits, waits) << "N = 0 does not wait";
}

TEST_F(SubmitHandlerTest, ACommitPortAtItsBoundIsAnsweredOverloadedAtOnce) {
  commit_.full = true;
  const HttpReply reply = Submit(R"({"type":"upper","input":1})");
  EXPECT_EQ(reply.status, 503) << reply.body;
  EXPECT_EQ(Code(reply), "overloaded");
  EXPECT_EQ(Header(reply, "Retry-After"), "1");
  EXPECT_TRUE(store_.records.empty());
  EXPECT_TRUE(broker_.submitted.empty()) << "the broker hears only of durable jobs";
  commit_.full = false;
  EXPECT_EQ(Submit(R"({"type":"upper","input":1})").status, 202);
}

TEST_F(SubmitHandlerTest, PastItsBoundOfJobsInFlightASubmitIsAnsweredOverloadedAtOnce) {
  options_.max_in_flight_jobs = 3;
  broker_.hold = true;  // verdicts outstanding: the jobs stay in flight
  SubmitHandler handler = Handler();
  std::vector<HttpReply> replies;
  auto send = [&](const std::string& body, bool batch) {
    HttpRequestIn request;
    request.method = "POST";
    request.path = batch ? "/v1/jobs:batch" : "/v1/jobs";
    request.content_type = "application/json";
    request.body = body;
    handler.Handle(request, batch, UnauthenticatedCaller(),
                   [&](SubmitAnswer answer) { replies.push_back(std::move(answer.reply)); });
  };
  send(R"({"type":"upper","input":1})", false);
  send(R"({"jobs":[{"type":"upper","input":2},{"type":"upper","input":3}]})", true);
  EXPECT_TRUE(replies.empty()) << "3 jobs in flight, all within the bound";
  send(R"({"type":"upper","input":4})", false);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].status, 503) << replies[0].body;
  EXPECT_EQ(Code(replies[0]), "overloaded");
  EXPECT_EQ(Header(replies[0], "Retry-After"), "1");
  EXPECT_EQ(broker_.submitted.size(), 3u) << "the refused job went nowhere";
  EXPECT_EQ(store_.records.size(), 3u);

  broker_.Release();  // their verdicts arrive: answered, and out of flight
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[1].status, 202);
  EXPECT_EQ(replies[2].status, 202);
  // A submit alone is never refused by the bound, however many jobs it holds.
  send(R"({"jobs":[{"type":"upper","input":5},{"type":"upper","input":6},)"
       R"({"type":"upper","input":7},{"type":"upper","input":8}]})",
       true);
  send(R"({"type":"upper","input":9})", false);
  ASSERT_EQ(replies.size(), 4u);
  EXPECT_EQ(replies[3].status, 503) << "4 in flight already";
  broker_.Release();
  ASSERT_EQ(replies.size(), 5u);
  EXPECT_EQ(replies[4].status, 202);
}

TEST_F(SubmitHandlerTest, ABrokerTimeoutStillAccepts) {
  broker_.timeout = true;
  EXPECT_EQ(Submit(R"({"type":"upper","input":1})").status, 202);
  EXPECT_EQ(store_.records.size(), 1u);
}

TEST_F(SubmitHandlerTest, AnIdempotencyKeyNamesOneJobAndARefusalFreesIt) {
  const std::string body = R"({"type":"upper","input":1})";
  const HttpReply first = Submit(body, false, "k1");
  ASSERT_EQ(first.status, 202);
  const HttpReply again = Submit(body, false, "k1");
  EXPECT_EQ(again.status, 202);
  EXPECT_EQ(test::JsonString(again.body, "id"), test::JsonString(first.body, "id"));
  EXPECT_EQ(Header(again, "Idempotent-Replayed"), "true");
  EXPECT_EQ(broker_.submitted.size(), 1u);
  EXPECT_EQ(Submit(R"({"type":"upper","input":2})", false, "k1").status, 422);

  broker_.refuse = {wire::Verdict{"queue_full", "full", 1000}};
  EXPECT_EQ(Submit(body, false, "k2").status, 429);
  EXPECT_EQ(store_.keys.count("k2"), 0u);
  broker_.refuse.clear();
  EXPECT_EQ(Submit(body, false, "k2").status, 202);
}

// The waiters of a submit that waits are registered before its jobs are written: once
// in Redis, a job may be run by a broker taking over (it recovers queued jobs from
// Redis) before this gateway forwards it, and an end that came before the registration
// would leave the job held as unfinished, every wait for it waiting to the end.
TEST_F(SubmitHandlerTest, TheHookBeforeCommitSeesTheJobsBeforeRedisOrTheBrokerDoes) {
  SubmitHandler handler = Handler();
  HttpRequestIn request;
  request.method = "POST";
  request.path = "/v1/jobs";
  request.content_type = "application/json";
  request.idempotency_key = "k1";
  request.body = R"({"type":"upper","input":"hi"})";
  std::vector<std::string> seen;
  auto hook = [&](std::span<const NewJob> jobs) {
    for (const NewJob& job : jobs) {
      EXPECT_TRUE(std::none_of(broker_.submitted.begin(), broker_.submitted.end(),
                               [&](const wire::SubmitJob& sent) { return sent.id == job.id; }))
          << "before the broker has it";
      EXPECT_EQ(store_.records.count(job.id), 0u) << "not written yet";
      seen.push_back(job.id);
    }
  };
  std::optional<HttpReply> reply;
  handler.Handle(
      request, false, UnauthenticatedCaller(), [&](SubmitAnswer r) { reply = std::move(r.reply); },
      hook);
  ASSERT_TRUE(reply);
  ASSERT_EQ(seen.size(), 1u);
  const std::string id = test::JsonString(reply->body, "id");
  EXPECT_EQ(seen[0], id);
  EXPECT_EQ(store_.records.count(id), 1u) << "written after the hook";
  seen.clear();
  // A replay is known only once the commit's claim finds the key taken: the hook saw a
  // new job, which is never written, and the answer names the first one.
  std::optional<HttpReply> replay;
  handler.Handle(
      request, false, UnauthenticatedCaller(), [&](SubmitAnswer r) { replay = std::move(r.reply); },
      hook);
  ASSERT_TRUE(replay);
  EXPECT_EQ(Header(*replay, "Idempotent-Replayed"), "true");
  EXPECT_EQ(test::JsonString(replay->body, "id"), id);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_NE(seen[0], id);
  EXPECT_EQ(store_.records.count(seen[0]), 0u) << "a replay writes no new job";
}

TEST_F(SubmitHandlerTest, ABatchAnswersEveryItemInOrderWithItsOwnError) {
  broker_.refuse = {wire::Verdict{}, wire::Verdict{"queue_full", "full", 1500}};
  const HttpReply reply = Submit(R"({"jobs":[{"type":"upper","input":1},{"type":"nope","input":2},)"
                                 R"({"type":"upper","input":3},{"type":"upper","input":4}]})",
                                 true);
  ASSERT_EQ(reply.status, 202);
  const auto jobs = JsonArray(reply.body, "jobs");
  ASSERT_EQ(jobs.size(), 4u);
  EXPECT_EQ(test::JsonString(jobs[0], "status"), "queued");
  EXPECT_EQ(test::JsonString(jobs[1], "error", "code"), "unknown_type");
  EXPECT_EQ(test::JsonString(jobs[2], "error", "code"), "queue_full");
  EXPECT_EQ(test::JsonInt(jobs[2], "retry_after_ms"), 1500);
  EXPECT_EQ(test::JsonString(jobs[3], "status"), "queued");
  EXPECT_EQ(store_.records.size(), 2u);
}

wire::Status Served(std::uint64_t seq, std::int64_t upper_refusing_ms = 0) {
  wire::Status status;
  status.seq = seq;
  for (const char* name : {"upper", "sleep"}) {
    wire::TypeStatus& type = status.types.emplace_back();
    type.name = name;
  }
  status.types[0].refusing_retry_after_ms = upper_refusing_ms;
  status.types[0].max_queue_wait_ms = 2500;
  status.types[0].projected_wait_us = 4'500'000;
  return status;
}

TEST_F(SubmitHandlerTest, ATypeRefusedByTimeIsShedHereUntilANewerStatusAdmitsIt) {
  broker_.SetStatus(Served(1));
  SubmitHandler handler = Handler();
  broker_.refuse = {wire::Verdict{"queue_wait_exceeded", "about 9 s of work", 3000}};
  const HttpReply first = SubmitTo(handler, R"({"type":"upper","input":1})");
  EXPECT_EQ(first.status, 429);
  EXPECT_EQ(Code(first), "queue_wait_exceeded");
  EXPECT_EQ(Header(first, "Retry-After"), "3");
  ASSERT_EQ(broker_.submitted.size(), 1u);
  broker_.refuse.clear();  // the broker would take it now, but it is not asked

  const HttpReply shed = SubmitTo(handler, R"({"type":"upper","input":2})");
  EXPECT_EQ(shed.status, 429);
  EXPECT_EQ(Code(shed), "queue_wait_exceeded");
  EXPECT_EQ(Header(shed, "Retry-After"), "3");
  EXPECT_EQ(broker_.submitted.size(), 1u) << "shed before the broker";
  EXPECT_TRUE(store_.records.empty()) << "shed before Redis";

  // In a :batch only the refused type's items are shed.
  const HttpReply batch = SubmitTo(
      handler, R"({"jobs":[{"type":"upper","input":3},{"type":"sleep","input":4}]})", true);
  ASSERT_EQ(batch.status, 202);
  const auto jobs = JsonArray(batch.body, "jobs");
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(test::JsonString(jobs[0], "error", "code"), "queue_wait_exceeded");
  EXPECT_EQ(test::JsonInt(jobs[0], "retry_after_ms"), 3000);
  EXPECT_EQ(test::JsonString(jobs[1], "status"), "queued");
  EXPECT_EQ(store_.records.size(), 1u);

  broker_.SetStatus(Served(2));  // newer than the refusal, and admitting
  EXPECT_EQ(SubmitTo(handler, R"({"type":"upper","input":5})").status, 202);

  broker_.SetStatus(Served(3, 2000));  // the status itself says the type refuses
  const HttpReply by_status = SubmitTo(handler, R"({"type":"upper","input":6})");
  EXPECT_EQ(by_status.status, 429);
  EXPECT_EQ(Header(by_status, "Retry-After"), "2");
  EXPECT_NE(test::JsonString(by_status.body, "error", "message").find("2500 ms"), std::string::npos)
      << by_status.body;
  EXPECT_EQ(store_.records.size(), 2u);
}

}  // namespace
}  // namespace batchq
