// Server-sent events through real processes: one job's stream sees every change in order,
// live, ends with the whole job and resumes after Last-Event-ID; a tenant's stream sees
// its own tenant's changes only, filtered; the routes refuse what they must.
#include <filesystem>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "common/redis_connection.h"
#include "tests/support/sse_client.h"
#include "tests/support/stack.h"

namespace batchq::test {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> Drain(SseClient& stream, std::vector<SseEvent>* events = nullptr) {
  std::vector<std::string> seen;
  while (auto event = stream.Next(20s)) {
    seen.push_back(event->id + " " + event->name);
    if (events != nullptr) events->push_back(*event);
  }
  return seen;
}

// The channel's subscribers once they are `want`, or as they are after 10 s.
long long SubscribersOnce(RedisConnection& probe, std::string_view channel, long long want) {
  long long now = Subscribers(probe, channel);
  for (int i = 0; i < 100 && now != want; ++i) {
    std::this_thread::sleep_for(100ms);
    now = Subscribers(probe, channel);
  }
  return now;
}

TEST(EventStreamTest, AJobsStreamShowsEachChangeLiveInOrderThenTheJobAndResumesAfterLastEventId) {
  // One worker, one job at a time, busy 800 ms per job: the second job waits queued.
  Stack stack({.workers = 1,
               .broker_args = {"--type", "sleep:max_batch_size=1"},
               .worker_args = {"--sleep-fixed-us", "800000", "--credits", "1"}});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  const std::string key = stack.CreateKey("alpha", "submit,read");
  auto client = stack.Client(key);
  const auto blocker = client->PostJson("/v1/jobs", R"({"type":"sleep","input":1})");
  ASSERT_TRUE(blocker);
  ASSERT_TRUE(WaitForStatus(*client, JsonString(blocker->body, "id"), "running"));
  const auto queued = client->PostJson("/v1/jobs", R"({"type":"sleep","input":2})");
  ASSERT_TRUE(queued);
  const std::string id = JsonString(queued->body, "id");

  // Jobs queued and started are on a channel of their own, which a gateway hears only
  // while a stream wants it: none yet.
  RedisConnection probe(RedisConnection::Options{stack.redis_admin_endpoint()});
  EXPECT_EQ(Subscribers(probe, "bq:progress"), 0);
  // Readiness does not wait for the listener's subscription.
  ASSERT_EQ(SubscribersOnce(probe, "bq:done", 1), 1) << "the gateway always hears the endings";

  SseClient stream(stack.url(), "/v1/jobs/" + id + "/events", key);
  ASSERT_EQ(stream.status(), 200) << stream.headers();
  EXPECT_EQ(Subscribers(probe, "bq:progress"), 1) << "the stream started before the channel";
  EXPECT_NE(stream.headers().find("text/event-stream"), std::string::npos) << stream.headers();
  const auto first = stream.Next(10s);
  ASSERT_TRUE(first) << stack.Logs();
  EXPECT_EQ(first->id + " " + first->name, "1.0 queued") << "the job waits behind the blocker";
  EXPECT_GT(stream.retry_ms(), 0) << "the stream tells clients when to reconnect";
  // Running and its end arrive while the stream is open: from the change channel.
  std::vector<SseEvent> events;
  EXPECT_EQ(Drain(stream, &events), (std::vector<std::string>{"1.1 running", "1.2 succeeded"}))
      << stack.Logs();
  EXPECT_TRUE(stream.ended()) << "the stream ends after the terminal event";
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(JsonString(events[1].data, "id"), id);
  EXPECT_EQ(JsonString(events[1].data, "status"), "succeeded");
  EXPECT_EQ(JsonString(events[1].data, "worker"),
            JsonString(client->Get("/v1/jobs/" + id)->body, "worker"))
      << "the terminal event carries the whole job, as GET gives it: " << events[1].data;

  // Resuming after "running" gives exactly the end; after the end, 204 (no reconnect).
  SseClient resumed(stack.url(), "/v1/jobs/" + id + "/events", key, "1.1");
  ASSERT_EQ(resumed.status(), 200);
  EXPECT_EQ(Drain(resumed), std::vector<std::string>{"1.2 succeeded"});
  SseClient over(stack.url(), "/v1/jobs/" + id + "/events", key, "1.2");
  EXPECT_EQ(over.status(), 204) << over.headers();
  // A stream opened after the end replays the job's whole story at once.
  SseClient late(stack.url(), "/v1/jobs/" + id + "/events", key);
  EXPECT_EQ(Drain(late), (std::vector<std::string>{"1.0 queued", "1.1 running", "1.2 succeeded"}));
}

TEST(EventStreamTest, TheGatewayLeavesTheProgressChannelALingerAfterItsLastStream) {
  // The shortest linger, 1 s; the default (30 s) would keep the subscription past this
  // test's wait. The gateway forgets a closed stream at its next heartbeat (or change).
  Stack stack({.workers = 1,
               .gateway_args = {"--progress-linger-ms", "1000", "--event-heartbeat-ms", "200"}});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  const std::string key = stack.CreateKey("alpha", "submit,read");
  RedisConnection probe(RedisConnection::Options{stack.redis_admin_endpoint()});
  {
    SseClient stream(stack.url(), "/v1/events", key);
    ASSERT_EQ(stream.status(), 200) << stream.headers();
    EXPECT_EQ(Subscribers(probe, "bq:progress"), 1);
  }
  EXPECT_EQ(SubscribersOnce(probe, "bq:progress", 0), 0)
      << "still subscribed 10 s after the last stream closed";
  EXPECT_EQ(Subscribers(probe, "bq:done"), 1);
}

TEST(EventStreamTest, ALingerUnderASecondIsRefusedAtStart) {
  // It would not cover a new stream's wait for the subscription.
  std::string dir = std::filesystem::temp_directory_path() / "bq-linger-XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  ChildProcess gateway({BATCHQ_GATEWAY_BIN, "--progress-linger-ms", "999", "--port", "0"},
                       dir + "/gateway.log");
  const int status = gateway.Wait(10s);
  ASSERT_TRUE(WIFEXITED(status)) << gateway.ReadLog();
  EXPECT_NE(WEXITSTATUS(status), 0);
  EXPECT_NE(gateway.ReadLog().find("--progress-linger-ms"), std::string::npos) << gateway.ReadLog();
  std::filesystem::remove_all(dir);
}

TEST(EventStreamTest, AJobWhoseResultIsLargerThanTheStreamsBacklogBoundStillGetsItsEnd) {
  Stack stack({.workers = 1, .gateway_args = {"--max-body-bytes", "4000000"}});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  const std::string key = stack.CreateKey("alpha", "submit,read");
  auto client = stack.Client(key);
  // 1.5 MB in, 1.5 MB out: the terminal event alone is past the 1 MiB backlog bound.
  const std::string text(1'500'000, 'a');
  const auto job = client->PostJson("/v1/jobs", R"({"type":"upper","input":")" + text + R"("})");
  ASSERT_TRUE(job);
  ASSERT_EQ(job->status, 202) << job->body.substr(0, 300);
  SseClient stream(stack.url(), "/v1/jobs/" + JsonString(job->body, "id") + "/events", key);
  ASSERT_EQ(stream.status(), 200);
  std::vector<SseEvent> events;
  const auto seen = Drain(stream, &events);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back(), "1.2 succeeded");
  EXPECT_EQ(JsonString(events.back().data, "result").size(), text.size());
}

TEST(EventStreamTest, ATenantsStreamSeesItsOwnChangesFilteredAndTheRoutesRefuseWhatTheyMust) {
  Stack stack({.workers = 1,
               .broker_args = {"--type", "upper", "--type", "parked"},
               .gateway_args = {"--event-heartbeat-ms", "200"},
               .worker_args = {"--type", "upper"}});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  const std::string alpha_key = stack.CreateKey("alpha", "submit,read,cancel");
  const std::string beta_key = stack.CreateKey("beta", "submit,read");
  auto alpha = stack.Client(alpha_key);
  auto beta = stack.Client(beta_key);

  SseClient mine(stack.url(), "/v1/events?type=upper", alpha_key);
  SseClient ended(stack.url(), "/v1/events?status=cancelled", alpha_key);
  SseClient every(stack.url(), "/v1/events?tenant=*&type=upper", stack.admin_key());
  ASSERT_EQ(mine.status(), 200) << mine.headers();
  ASSERT_EQ(ended.status(), 200);
  ASSERT_EQ(every.status(), 200);
  const auto theirs = beta->PostJson("/v1/jobs", R"({"type":"upper","input":"theirs"})");
  const auto parked = alpha->PostJson("/v1/jobs", R"({"type":"parked","input":1})");
  ASSERT_TRUE(theirs && parked);
  ASSERT_EQ(alpha->Delete("/v1/jobs/" + JsonString(parked->body, "id"))->status, 200);
  const auto job = alpha->PostJson("/v1/jobs", R"({"type":"upper","input":"mine"})");
  ASSERT_TRUE(job);
  const std::string id = JsonString(job->body, "id");

  std::vector<std::string> seen;
  while (seen.size() < 3) {
    const auto event = mine.Next(20s);
    ASSERT_TRUE(event) << "saw only " << seen.size() << " events\n" << stack.Logs();
    EXPECT_EQ(JsonString(event->data, "id"), id) << "another tenant's or another type's job";
    EXPECT_EQ(JsonString(event->data, "type"), "upper");
    seen.push_back(event->name);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"queued", "running", "succeeded"}));
  const auto cancelled = ended.Next(10s);
  ASSERT_TRUE(cancelled);
  EXPECT_EQ(cancelled->name, "cancelled");
  EXPECT_EQ(JsonString(cancelled->data, "id"), JsonString(parked->body, "id"));
  // The admin's stream of every tenant sees both tenants' upper jobs.
  std::set<std::string> ids;
  while (ids.size() < 2) {
    const auto event = every.Next(10s);
    ASSERT_TRUE(event);
    ids.insert(JsonString(event->data, "id"));
  }
  EXPECT_EQ(ids, (std::set<std::string>{id, JsonString(theirs->body, "id")}));
  // A quiet stream gets heartbeat comments.
  EXPECT_FALSE(ended.Next(1500ms));
  EXPECT_GT(ended.comments(), 0);

  SseClient foreign(stack.url(), "/v1/jobs/" + JsonString(theirs->body, "id") + "/events",
                    alpha_key);
  EXPECT_EQ(foreign.status(), 404) << "another tenant's job does not exist for alpha";
  SseClient anonymous(stack.url(), "/v1/events", "");
  EXPECT_EQ(anonymous.status(), 401);
  SseClient bad_filter(stack.url(), "/v1/events?status=done", alpha_key);
  EXPECT_EQ(bad_filter.status(), 400);
  SseClient not_admin(stack.url(), "/v1/events?tenant=beta&type=upper", alpha_key);
  ASSERT_EQ(not_admin.status(), 200) << "?tenant is an admin's; others get their own";
  const auto upper = beta->PostJson("/v1/jobs", R"({"type":"upper","input":"again"})");
  ASSERT_TRUE(upper);
  EXPECT_FALSE(not_admin.Next(1500ms)) << "alpha saw beta's job";
}

}  // namespace
}  // namespace batchq::test
