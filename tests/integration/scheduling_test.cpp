// Scheduling behaviour through real processes: backpressure with Retry-After,
// expiry of jobs no worker could take in time, cancellation before dispatch,
// priorities, and the batch record that explains each close.
#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include "tests/support/stack.h"

namespace batchq::test {
namespace {

TEST(SchedulingTest, FullQueueAnswers429WithRetryAfterAndBatchReportsRefusedItems) {
  Stack stack(StackOptions{.workers = 0, .broker_args = {"--type", "upper:max_queue=3"}});
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  auto client = stack.Client();
  for (int i = 0; i < 3; ++i) {
    auto ok = client->PostJson("/v1/jobs", R"({"type":"upper","input":"x"})");
    ASSERT_TRUE(ok);
    ASSERT_EQ(ok->status, 202) << ok->body;
  }
  auto refused = client->PostJson("/v1/jobs", R"({"type":"upper","input":"x"})");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 429) << refused->body;
  EXPECT_EQ(JsonString(refused->body, "error", "code"), "queue_full");
  const std::string retry_after = refused->Header("Retry-After");
  ASSERT_FALSE(retry_after.empty());
  EXPECT_GE(std::stoi(retry_after), 1);

  auto batch = client->PostJson(
      "/v1/jobs:batch", R"({"jobs":[{"type":"upper","input":"a"},{"type":"upper","input":"b"}]})");
  ASSERT_TRUE(batch);
  ASSERT_EQ(batch->status, 202);
  EXPECT_EQ(std::count(batch->body.begin(), batch->body.end(), 'q') > 0, true);
  EXPECT_NE(batch->body.find("queue_full"), std::string::npos) << batch->body;
  EXPECT_NE(batch->body.find("retry_after_ms"), std::string::npos) << batch->body;

  // The refused jobs left nothing behind: the queue drains and every accepted job ends.
  stack.AddWorker();
  ASSERT_TRUE(stack.WaitReady(1));
  auto types = client->Get("/v1/types");
  ASSERT_TRUE(types);
}

// The broker's count of jobs of `type` it refused (batchq_jobs_submitted_total).
double BrokerRefused(Stack& stack, const std::string& type) {
  const std::string metrics = ScrapeMetrics(
      fmt::format("http://127.0.0.1:{}", LoggedMetricsPort(stack.broker().ReadLog())));
  return MetricValue(
      metrics, fmt::format(R"(batchq_jobs_submitted_total{{type="{}",verdict="refused"}})", type));
}

TEST(SchedulingTest, AQueuePastItsWaitBoundAnswers429AndTheGatewayShedsTheTypeItself) {
  // One worker; a batch of up to 32 sleep jobs takes 2 s: it drains 16 jobs a second,
  // so a 1 s bound holds about 16 queued jobs, whatever the count bound (100,000).
  Stack stack(
      StackOptions{.workers = 1,
                   .broker_args = {"--type", "sleep:max_batch_size=32,max_queue_wait_ms=1000",
                                   "--metrics-listen", "127.0.0.1:0"},
                   .worker_args = {"--sleep-fixed-us", "2000000", "--credits", "1"}});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto client = stack.Client();
  // The first batch teaches the broker the type's cost; until then no wait is known.
  auto first = client->PostJson("/v1/jobs?wait_ms=20000", R"({"type":"sleep","input":0})");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200) << first->body;
  // The worker busy with the next one, the queue cannot drain while the rest is offered.
  auto busy = client->PostJson("/v1/jobs", R"({"type":"sleep","input":"busy"})");
  ASSERT_TRUE(busy);
  ASSERT_EQ(busy->status, 202) << busy->body;
  ASSERT_TRUE(WaitForStatus(*client, JsonString(busy->body, "id"), "running"));

  std::string jobs;
  for (int i = 0; i < 60; ++i)
    jobs += fmt::format(R"({}{{"type":"sleep","input":{}}})", i ? "," : "", i);
  auto batch = client->PostJson("/v1/jobs:batch", "{\"jobs\":[" + jobs + "]}");
  ASSERT_TRUE(batch);
  ASSERT_EQ(batch->status, 202) << batch->body;
  std::vector<std::string> accepted;
  int refused = 0;
  simdjson::dom::parser parser;
  for (auto item : parser.parse(batch->body)["jobs"].get_array()) {
    std::string_view id;
    if (item["id"].get(id) == simdjson::SUCCESS) {
      accepted.emplace_back(id);
      continue;
    }
    EXPECT_EQ(std::string_view(item["error"]["code"].get_string().value()), "queue_wait_exceeded");
    EXPECT_GE(item["retry_after_ms"].get_int64().value(), 1000);
    ++refused;
  }
  EXPECT_GE(accepted.size(), 1u) << batch->body;
  EXPECT_LT(accepted.size(), 30u) << "about 4 s of work was offered against a 1 s bound";
  EXPECT_EQ(accepted.size() + refused, 60u);
  const double refused_by_broker = BrokerRefused(stack, "sleep");
  EXPECT_EQ(refused_by_broker, refused) << "the batch's refusals were the broker's";

  // The gateway heard the broker refuse by time: the next submit of the type is refused
  // at the gateway, before Redis and the broker, with the time to come back.
  auto shed = client->PostJson("/v1/jobs", R"({"type":"sleep","input":"late"})");
  ASSERT_TRUE(shed);
  EXPECT_EQ(shed->status, 429) << shed->body;
  EXPECT_EQ(JsonString(shed->body, "error", "code"), "queue_wait_exceeded");
  ASSERT_FALSE(shed->Header("Retry-After").empty());
  EXPECT_GE(std::stoi(shed->Header("Retry-After")), 1);
  EXPECT_EQ(BrokerRefused(stack, "sleep"), refused_by_broker) << "the broker was not asked";

  // Every accepted job ends, and once the queue has drained the type admits again.
  for (const auto& id : accepted) {
    EXPECT_EQ(JsonString(WaitTerminal(*client, id, 60), "status"), "succeeded") << id;
  }
  Result<HttpResponse> again = Fail(ErrorCode::kHttpError, "not sent");
  for (int i = 0; i < 40; ++i) {
    again = client->PostJson("/v1/jobs?wait_ms=20000", R"({"type":"sleep","input":"again"})");
    if (!again || again->status != 429) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));  // a retry loop, not a clock
  }
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200) << again->body;
  EXPECT_EQ(JsonString(again->body, "status"), "succeeded");
}

TEST(SchedulingTest, JobNotDispatchedInTimeExpiresWhileWorkersAreBusy) {
  // One worker, busy for 2 s with a sleep batch; a job with a 300 ms timeout behind it
  // must end `expired`, not wait.
  Stack stack(StackOptions{.workers = 1,
                           .broker_args = {"--type", "sleep:max_batch_size=1", "--type", "upper"},
                           .worker_args = {"--sleep-fixed-us", "2000000", "--credits", "1"}});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto client = stack.Client();
  auto blocker = client->PostJson("/v1/jobs", R"({"type":"sleep","input":1})");
  ASSERT_TRUE(blocker);
  ASSERT_TRUE(WaitForStatus(*client, JsonString(blocker->body, "id"), "running"));
  auto doomed = client->PostJson("/v1/jobs", R"({"type":"sleep","input":2,"timeout_ms":300})");
  ASSERT_TRUE(doomed);
  ASSERT_EQ(doomed->status, 202) << doomed->body;
  const std::string body = WaitTerminal(*client, JsonString(doomed->body, "id"));
  EXPECT_EQ(JsonString(body, "status"), "expired") << body << stack.Logs();
  EXPECT_EQ(JsonString(body, "error", "code"), "expired");
  EXPECT_EQ(JsonInt(body, "timeout_ms"), 300);
  EXPECT_EQ(JsonString(body, "worker"), "");
}

TEST(SchedulingTest, BadTimeoutIsRefused) {
  Stack stack(StackOptions{.workers = 0});
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  auto client = stack.Client();
  auto bad = client->PostJson("/v1/jobs", R"({"type":"upper","input":"x","timeout_ms":0})");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(JsonString(bad->body, "error", "code"), "invalid_request");
}

TEST(SchedulingTest, CancelledJobLeavesTheBrokerQueueAtOnce) {
  Stack stack(StackOptions{.workers = 0});
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  auto client = stack.Client();
  auto job = client->PostJson("/v1/jobs", R"({"type":"upper","input":"x"})");
  ASSERT_TRUE(job);
  auto depth = [&] {
    auto types = client->Get("/v1/types");
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (!types || parser.parse(types->body).get(root) != simdjson::SUCCESS) return -1L;
    for (auto type : root["types"].get_array()) {
      if (type["name"].get_string().value() == "upper")
        return type["queue_depth"].get_int64().value();
    }
    return -1L;
  };
  ASSERT_TRUE(WaitFor([&] { return depth() == 1; }));
  auto cancelled = client->Delete("/v1/jobs/" + JsonString(job->body, "id"));
  ASSERT_TRUE(cancelled);
  ASSERT_EQ(cancelled->status, 200);
  EXPECT_TRUE(WaitFor([&] { return depth() == 0; })) << "the broker still holds the job";
}

TEST(SchedulingTest, HigherPriorityRunsFirstAndBatchesExplainWhyTheyClosed) {
  // No worker while the queue fills, so the order is the policy's alone.
  Stack stack(StackOptions{.workers = 0, .broker_args = {"--type", "upper:max_batch_size=2"}});
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  auto client = stack.Client();
  std::vector<std::string> low, high;
  for (int i = 0; i < 4; ++i) {
    auto job = client->PostJson("/v1/jobs", R"({"type":"upper","input":"low","priority":0})");
    ASSERT_TRUE(job);
    low.push_back(JsonString(job->body, "id"));
  }
  for (int i = 0; i < 2; ++i) {
    auto job = client->PostJson("/v1/jobs", R"({"type":"upper","input":"high","priority":9})");
    ASSERT_TRUE(job);
    high.push_back(JsonString(job->body, "id"));
  }
  stack.AddWorker({"--credits", "1"});
  std::int64_t last_high_start = 0;
  std::int64_t first_low_start = INT64_MAX;
  for (const auto& id : high) {
    const std::string body = WaitTerminal(*client, id);
    ASSERT_EQ(JsonString(body, "status"), "succeeded") << body;
    last_high_start = std::max(last_high_start, JsonInt(body, "timeline", "started_us"));
    EXPECT_EQ(JsonString(body, "batch", "close_reason"), "full") << body;
  }
  for (const auto& id : low) {
    const std::string body = WaitTerminal(*client, id);
    ASSERT_EQ(JsonString(body, "status"), "succeeded") << body;
    first_low_start = std::min(first_low_start, JsonInt(body, "timeline", "started_us"));
    EXPECT_FALSE(JsonString(body, "batch", "close_reason").empty()) << body;
  }
  EXPECT_LT(last_high_start, first_low_start);
}

TEST(SchedulingTest, TypesShowLiveSchedulingState) {
  Stack stack(StackOptions{.workers = 1,
                           .broker_args = {"--type", "upper:preferred=4/8,max_batch_bytes=4096"}});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto client = stack.Client();
  for (int i = 0; i < 20; ++i) {
    auto job = client->PostJson("/v1/jobs", R"({"type":"upper","input":"learn"})");
    ASSERT_TRUE(job);
    ASSERT_FALSE(WaitTerminal(*client, JsonString(job->body, "id")).empty());
  }
  // The gateway refreshes the broker's status twice a second.
  std::string body;
  const bool learned = WaitFor([&] {
    auto types = client->Get("/v1/types");
    if (!types) return false;
    body = types->body;
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (parser.parse(body).get(root) != simdjson::SUCCESS) return false;
    for (auto type : root["types"].get_array()) {
      if (type["name"].get_string().value() != "upper") continue;
      return type["learned_cost"]["fixed_us"].get_double().value() +
                 type["learned_cost"]["per_item_us"].get_double().value() >
             0.0;
    }
    return false;
  });
  EXPECT_TRUE(learned) << body;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(body).get(root), simdjson::SUCCESS);
  bool found = false;
  for (auto type : root["types"].get_array()) {
    if (type["name"].get_string().value() != "upper") continue;
    found = true;
    EXPECT_EQ(type["max_batch_bytes"].get_int64().value(), 4096);
    EXPECT_EQ(type["preferred_batch_sizes"].get_array().size(), 2u);
    EXPECT_TRUE(type["adaptive"].get_bool().value());
  }
  EXPECT_TRUE(found) << body;
}

}  // namespace
}  // namespace batchq::test
