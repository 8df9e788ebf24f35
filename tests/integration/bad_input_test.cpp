// Every kind of bad input gets its error code, and nothing goes down.
#include <random>

#include <optional>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/support/stack.h"

namespace batchq::test {
namespace {

class BadInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stack_ = new Stack(StackOptions{.workers = 1, .gateway_args = {"--max-body-bytes", "4096"}});
    ASSERT_TRUE(stack_->WaitReady(1)) << stack_->Logs();
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  void TearDown() override {
    // Whatever a test sent, the gateway and broker are still up.
    EXPECT_TRUE(stack_->gateway().running());
    EXPECT_TRUE(stack_->broker().running());
  }

  static void ExpectError(const Result<HttpResponse>& response, int status,
                          const std::string& code) {
    ASSERT_TRUE(response) << response.error().message;
    EXPECT_EQ(response->status, status) << response->body;
    EXPECT_EQ(JsonString(response->body, "error", "code"), code) << response->body;
    EXPECT_FALSE(JsonString(response->body, "error", "message").empty()) << response->body;
  }

  static Stack* stack_;
};
Stack* BadInputTest::stack_ = nullptr;

TEST_F(BadInputTest, MalformedJsonIs400InvalidJson) {
  auto client = stack_->Client();
  ExpectError(client->PostJson("/v1/jobs", "{\"type\":\"upper\","), 400, "invalid_json");
  ExpectError(client->PostJson("/v1/jobs:batch", "[[["), 400, "invalid_json");
}

TEST_F(BadInputTest, MissingOrIllTypedFieldsAre400InvalidRequest) {
  auto client = stack_->Client();
  ExpectError(client->PostJson("/v1/jobs", R"({"input":"x"})"), 400, "invalid_request");
  ExpectError(client->PostJson("/v1/jobs", R"({"type":"upper"})"), 400, "invalid_request");
  ExpectError(client->PostJson("/v1/jobs", R"({"type":42,"input":"x"})"), 400, "invalid_request");
  ExpectError(client->PostJson("/v1/jobs", R"({"type":"upper","input":"x","priority":"hi"})"), 400,
              "invalid_request");
  ExpectError(client->PostJson("/v1/jobs", R"([])"), 400, "invalid_request");
  ExpectError(client->PostJson("/v1/jobs:batch", R"({"jobs":"nope"})"), 400, "invalid_request");
}

TEST_F(BadInputTest, UnknownTypeIs400UnknownType) {
  auto client = stack_->Client();
  ExpectError(client->PostJson("/v1/jobs", R"({"type":"teleport","input":"x"})"), 400,
              "unknown_type");
}

TEST_F(BadInputTest, BatchReportsEachBadItemAloneAndRunsTheRest) {
  auto client = stack_->Client();
  auto response = client->PostJson(
      "/v1/jobs:batch",
      R"({"jobs":[{"type":"upper","input":"ok"},{"type":"teleport","input":1},{"input":2}]})");
  ASSERT_TRUE(response);
  ASSERT_EQ(response->status, 202) << response->body;
  EXPECT_NE(response->body.find("unknown_type"), std::string::npos);
  EXPECT_NE(response->body.find("invalid_request"), std::string::npos);
  const auto first_id_at = response->body.find("\"id\"");
  EXPECT_NE(first_id_at, std::string::npos);
}

TEST_F(BadInputTest, OversizedBodyIs413) {
  auto client = stack_->Client();
  const std::string big = fmt::format(R"({{"type":"upper","input":"{}"}})", std::string(8000, 'a'));
  ExpectError(client->PostJson("/v1/jobs", big), 413, "body_too_large");
}

TEST_F(BadInputTest, WrongContentTypeIs415) {
  auto client = stack_->Client();
  ExpectError(
      client->Send(HttpRequest{
          "POST", "/v1/jobs", R"({"type":"upper","input":"x"})", {{"Content-Type", "text/plain"}}}),
      415, "unsupported_media_type");
  ExpectError(client->Send(HttpRequest{"POST", "/v1/jobs", R"({"type":"upper","input":"x"})", {}}),
              415, "unsupported_media_type");
  auto ok = client->Send(HttpRequest{"POST",
                                     "/v1/jobs",
                                     R"({"type":"upper","input":"x"})",
                                     {{"Content-Type", "Application/JSON; charset=utf-8"}}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 202) << ok->body;
}

TEST_F(BadInputTest, UnknownIdIs404) {
  auto client = stack_->Client();
  ExpectError(client->Get("/v1/jobs/0123456789abcdef0123456789abcdef"), 404, "not_found");
  ExpectError(client->Get("/v1/jobs/0123456789abcdef0123456789abcdef?wait_ms=100"), 404,
              "not_found");
  ExpectError(client->Delete("/v1/jobs/0123456789abcdef0123456789abcdef"), 404, "not_found");
  ExpectError(client->Get("/v1/jobs/..%2F..%2Fetc"), 404, "not_found");
  ExpectError(client->Get("/v2/nothing"), 404, "not_found");
}

TEST_F(BadInputTest, BadWaitParameterIs400) {
  auto client = stack_->Client();
  ExpectError(client->Get("/v1/jobs/0123456789abcdef0123456789abcdef?wait_ms=soon"), 400,
              "invalid_request");
}

TEST_F(BadInputTest, RandomGarbageNeverCrashesTheGateway) {
  auto client = stack_->Client();
  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) {
    std::string body(rng() % 200, '\0');
    for (char& c : body) c = static_cast<char>(rng() % 256);
    if (i % 3 == 0) body = "{\"type\":\"upper\",\"input\":" + body;
    auto response = client->PostJson(i % 2 ? "/v1/jobs" : "/v1/jobs:batch", body);
    ASSERT_TRUE(response) << "request " << i;
    EXPECT_GE(response->status, 400) << body;
    EXPECT_LT(response->status, 500) << body;
  }
  auto health = client->Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

TEST(OverloadTest, PastItsBoundOfJobsInFlightTheGatewayAnswers503OverloadedAtOnce) {
  // Every submit waits up to 4 s for a Redis replica there is not, so it stays in flight
  // that long (and then is withdrawn, 503 not_replicated): the bound of 1 is reached
  // without any timing.
  Stack stack(
      StackOptions{.workers = 1,
                   .gateway_args = {"--max-in-flight-submit-jobs", "1", "--redis-replicas-ack", "1",
                                    "--redis-replicas-wait-ms", "4000"}});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto in_flight = [&] {
    return MetricValue(ScrapeMetrics(stack.url(), stack.admin_key()),
                       "batchq_submit_jobs_in_flight");
  };
  EXPECT_EQ(in_flight(), 0);
  std::optional<Result<HttpResponse>> held;
  std::thread holder(
      [&] { held = stack.Client()->PostJson("/v1/jobs", R"({"type":"upper","input":"held"})"); });
  const bool holding = WaitFor([&] { return in_flight() == 1; });
  auto refused = stack.Client()->PostJson("/v1/jobs", R"({"type":"upper","input":"more"})");
  holder.join();
  ASSERT_TRUE(holding) << stack.Logs();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503) << refused->body;
  EXPECT_EQ(JsonString(refused->body, "error", "code"), "overloaded");
  EXPECT_EQ(refused->Header("Retry-After"), "1");
  ASSERT_TRUE(held.has_value() && *held);
  EXPECT_EQ((*held)->status, 503) << (*held)->body;
  EXPECT_EQ(JsonString((*held)->body, "error", "code"), "not_replicated");
  // The claim goes with the submit's state, just after its answer is written: the client
  // can read the gauge in between (seen under ASan), so wait for it, bounded.
  EXPECT_TRUE(WaitFor([&] { return in_flight() == 0; })) << "an answered submit leaves flight";
}

TEST(OutageTest, BrokerUnreachableIs503AndRecovers) {
  Stack stack(StackOptions{.workers = 1});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto client = stack.Client();
  stack.broker().Kill();
  ASSERT_TRUE(WaitFor([&] {
    auto ready = client->Get("/readyz");
    return ready && ready->status == 503;
  })) << "readyz never noticed the broker was gone";
  auto refused = client->PostJson("/v1/jobs", R"({"type":"upper","input":"x"})");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(JsonString(refused->body, "error", "code"), "broker_unavailable");
  EXPECT_EQ(refused->Header("Retry-After"), "1");

  stack.StartBroker();
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto accepted = client->PostJson("/v1/jobs", R"({"type":"upper","input":"back"})");
  ASSERT_TRUE(accepted);
  ASSERT_EQ(accepted->status, 202) << accepted->body;
  auto done = client->Get("/v1/jobs/" + JsonString(accepted->body, "id") + "?wait_ms=20000");
  ASSERT_TRUE(done);
  EXPECT_EQ(JsonString(done->body, "status"), "succeeded") << done->body << stack.Logs();
}

TEST(OutageTest, RedisUnreachableIs503AndRecovers) {
  Stack stack(StackOptions{.workers = 1});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto client = stack.Client();
  stack.redis().Kill();
  auto refused = client->PostJson("/v1/jobs", R"({"type":"upper","input":"x"})");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503) << refused->body;
  EXPECT_EQ(JsonString(refused->body, "error", "code"), "redis_unavailable");
  auto status = client->Get("/v1/jobs/0123456789abcdef0123456789abcdef");
  ASSERT_TRUE(status);
  EXPECT_EQ(status->status, 503);
  EXPECT_TRUE(stack.gateway().running());

  stack.StartRedis();
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto accepted = client->PostJson("/v1/jobs", R"({"type":"upper","input":"again"})");
  ASSERT_TRUE(accepted);
  ASSERT_EQ(accepted->status, 202) << accepted->body;
  // The new Redis lost the broker's lease and epoch: until the broker's next renewal
  // finds that out and it takes a new epoch, its batches start nothing; the job runs
  // in the new term.
  const std::string done = WaitTerminal(*client, JsonString(accepted->body, "id"));
  EXPECT_EQ(JsonString(done, "status"), "succeeded") << done << stack.Logs();
  EXPECT_EQ(JsonString(done, "result"), "AGAIN");
}

}  // namespace
}  // namespace batchq::test
