// Scheduling behaviour through real processes: backpressure with Retry-After,
// expiry of jobs no worker could take in time, cancellation before dispatch,
// priorities, and the batch record that explains each close.
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
