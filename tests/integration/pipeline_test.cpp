// The whole pipeline with real processes: gateway -> broker -> workers -> Redis.
#include <sched.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>
#include <boost/scope_exit.hpp>

#include "common/json_writer.h"
#include "gateway/gateway_config.h"
#include "tests/support/stack.h"

namespace batchq::test {
namespace {

using namespace std::chrono_literals;

std::string UpperAscii(std::string text) {
  for (char& c : text) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  }
  return text;
}

std::string JobBody(std::string_view type, std::string_view text) {
  JsonWriter json;
  json.BeginObject().Key("type").String(type).Key("input").String(text).EndObject();
  return json.Take();
}

TEST(PipelineTest, ThousandUpperJobsSingleAndBatchedAllSucceedInBatches) {
  Stack stack;
  ASSERT_TRUE(stack.WaitReady(2)) << stack.Logs();

  struct Submitted {
    std::string id;
    std::string text;
  };
  std::vector<Submitted> jobs;
  std::mutex mutex;

  // 500 jobs one per request, from 4 concurrent clients.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto client = stack.Client();
      for (int i = 0; i < 125; ++i) {
        const std::string text = fmt::format("job {} of client {}: ÄbC-xyz", i, t);
        auto response = client->PostJson("/v1/jobs", JobBody("upper", text));
        ASSERT_TRUE(response);
        ASSERT_EQ(response->status, 202) << response->body;
        const std::string id = JsonString(response->body, "id");
        ASSERT_EQ(response->Header("Location"), "/v1/jobs/" + id);
        std::lock_guard lock(mutex);
        jobs.push_back({id, text});
      }
    });
  }
  for (auto& thread : threads) thread.join();

  // 500 more through POST /v1/jobs:batch, 50 per request.
  auto client = stack.Client();
  for (int r = 0; r < 10; ++r) {
    std::vector<std::string> texts;
    std::string body = R"({"jobs":[)";
    for (int i = 0; i < 50; ++i) {
      texts.push_back(fmt::format("batch {} item {} mixed Case", r, i));
      if (i > 0) body += ',';
      body += JobBody("upper", texts.back());
    }
    body += "]}";
    auto response = client->PostJson("/v1/jobs:batch", body);
    ASSERT_TRUE(response);
    ASSERT_EQ(response->status, 202) << response->body;
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    simdjson::dom::array items;
    ASSERT_EQ(parser.parse(response->body).get(root), simdjson::SUCCESS);
    ASSERT_EQ(root["jobs"].get(items), simdjson::SUCCESS);
    ASSERT_EQ(items.size(), 50u);
    std::size_t i = 0;
    for (auto item : items) {
      std::string_view id;
      ASSERT_EQ(item["id"].get(id), simdjson::SUCCESS);
      jobs.push_back({std::string(id), texts[i++]});
    }
  }
  ASSERT_EQ(jobs.size(), 1000u);

  std::size_t batched = 0;
  std::set<std::string> workers;
  for (const auto& job : jobs) {
    const std::string body = WaitTerminal(*client, job.id);
    ASSERT_FALSE(body.empty()) << "job " << job.id << " did not end\n" << stack.Logs();
    ASSERT_EQ(JsonString(body, "status"), "succeeded") << body;
    EXPECT_EQ(JsonString(body, "result"), UpperAscii(job.text));
    EXPECT_EQ(JsonInt(body, "attempts"), 1);
    if (JsonInt(body, "batch", "size") > 1) ++batched;
    workers.insert(JsonString(body, "worker"));
    // Accepted, claimed by a worker, handed to its handler, written: in that order.
    EXPECT_GE(JsonInt(body, "timeline", "started_us"), JsonInt(body, "timeline", "created_us"));
    EXPECT_GE(JsonInt(body, "timeline", "launched_us"), JsonInt(body, "timeline", "started_us"))
        << body;
    EXPECT_GE(JsonInt(body, "timeline", "finished_us"), JsonInt(body, "timeline", "launched_us"));
  }
  EXPECT_GT(batched, 0u) << "no job ran in a batch larger than 1";
  EXPECT_EQ(workers.size(), 2u) << "both workers should have run batches";
}

TEST(PipelineTest, LongPollReturnsWhenTheJobEndsWithoutReadingAJobCreatedHereFirst) {
  // Each sleep batch takes 300 ms; a long-poll of up to 60 s must come back with the
  // finished job long before its limit, woken by the completion notice.
  // No ended record kept (--ended-hold-ms 0): a long-poll of a job that ended reads it.
  Stack stack(StackOptions{.workers = 1,
                           .gateway_args = {"--ended-hold-ms", "0"},
                           .worker_args = {"--sleep-fixed-us", "300000"}});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto client = stack.Client();
  // A submit that waits is answered 200 only by a completion notice: once it is, the
  // gateway's notices flow, and it holds the jobs it creates as unfinished.
  auto first = client->PostJson("/v1/jobs?wait_ms=30000", R"({"type":"sleep","input":null})");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200) << first->body;

  auto submitted = client->PostJson("/v1/jobs", R"({"type":"sleep","input":null})");
  ASSERT_TRUE(submitted);
  ASSERT_EQ(submitted->status, 202);
  const std::string id = JsonString(submitted->body, "id");
  const auto start = std::chrono::steady_clock::now();
  auto polled = client->Get(fmt::format("/v1/jobs/{}?wait_ms=60000", id));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(polled);
  ASSERT_EQ(polled->status, 200);
  EXPECT_EQ(JsonString(polled->body, "status"), "succeeded") << polled->body;
  EXPECT_LT(elapsed, 30s) << "the long-poll was not woken by the completion notice";
  // A long-poll of a job that has already ended reads it.
  auto other = client->Get(fmt::format("/v1/jobs/{}?wait_ms=60000", JsonString(first->body, "id")));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 200);

  const std::string metrics = ScrapeMetrics(stack.url(), stack.admin_key());
  EXPECT_EQ(
      MetricValue(metrics, R"(batchq_gateway_long_poll_first_reads_total{outcome="skipped"})"), 1)
      << metrics;
  EXPECT_EQ(MetricValue(metrics, R"(batchq_gateway_long_poll_first_reads_total{outcome="read"})"),
            1)
      << metrics;
}

TEST(PipelineTest, AJobThatSucceededHereUnwaitedIsReadWithoutRedis) {
  // Held far longer than the test takes, so that no pause of the machine makes it read.
  Stack stack(StackOptions{.workers = 1, .gateway_args = {"--ended-hold-ms", "600000"}});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto client = stack.Client();
  // Notices flow once a submit that waits is answered 200 (only a notice answers it).
  auto first = client->PostJson("/v1/jobs?wait_ms=30000", R"({"type":"upper","input":"x"})");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200) << first->body;
  auto submitted = client->PostJson("/v1/jobs", R"({"type":"upper","input":"kept"})");
  ASSERT_TRUE(submitted);
  ASSERT_EQ(submitted->status, 202) << submitted->body;
  const std::string id = JsonString(submitted->body, "id");
  // It ends with nobody waiting: watched in Redis, not through the gateway.
  RedisConnection redis = RoleRedis(stack, "gateway");
  const std::string key = "bq:job:" + id;
  const std::vector<std::string_view> status{"HGET", key, "status"};
  bool ended = false;
  for (int i = 0; i < 500 && !ended; ++i) {
    auto reply = redis.Command(status);
    ended = reply && reply->str == "succeeded";
    if (!ended) std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(ended);
  // A later job's notice comes after its own on the one subscription: once a submit that
  // waits is answered, the gateway has heard the first end too.
  auto later = client->PostJson("/v1/jobs?wait_ms=30000", R"({"type":"upper","input":"y"})");
  ASSERT_TRUE(later);
  ASSERT_EQ(later->status, 200) << later->body;
  for (const std::string query : {"", "?wait_ms=60000"}) {
    auto polled = client->Get(fmt::format("/v1/jobs/{}{}", id, query));
    ASSERT_TRUE(polled);
    ASSERT_EQ(polled->status, 200) << polled->body;
    EXPECT_EQ(JsonString(polled->body, "status"), "succeeded") << polled->body;
    EXPECT_EQ(JsonString(polled->body, "result"), "KEPT") << polled->body;
    EXPECT_EQ(JsonString(polled->body, "id"), id) << polled->body;
  }
  // The first job's 200 came from its waiter, so nothing was kept for it: it is read.
  auto waited = client->Get(fmt::format("/v1/jobs/{}", JsonString(first->body, "id")));
  ASSERT_TRUE(waited);
  EXPECT_EQ(waited->status, 200) << waited->body;
  const std::string metrics = ScrapeMetrics(stack.url(), stack.admin_key());
  EXPECT_EQ(MetricValue(metrics, "batchq_gateway_reads_from_endings_total"), 2) << metrics;
}

TEST(PipelineTest, LongPollOfAnUnfinishedJobReturnsItsStateAtTheLimit) {
  Stack stack(StackOptions{.workers = 0});  // no workers: the job stays queued
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  auto client = stack.Client();
  auto submitted = client->PostJson("/v1/jobs", R"({"type":"upper","input":"x"})");
  ASSERT_TRUE(submitted);
  ASSERT_EQ(submitted->status, 202);
  const std::string id = JsonString(submitted->body, "id");
  auto polled = client->Get(fmt::format("/v1/jobs/{}?wait_ms=200", id));
  ASSERT_TRUE(polled);
  EXPECT_EQ(polled->status, 200);
  EXPECT_EQ(JsonString(polled->body, "status"), "queued");
}

// The gateway is linked with the allocator the build chose (BATCHQ_ALLOCATOR), so a
// link that silently falls back to glibc's malloc shows here, not only in a benchmark.
TEST(PipelineTest, TheGatewayRunsOnTheAllocatorItWasBuiltWith) {
  Stack stack(StackOptions{.workers = 0});
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  auto submitted = stack.Client()->PostJson("/v1/jobs", R"({"type":"upper","input":"x"})");
  ASSERT_TRUE(submitted);
  ASSERT_EQ(submitted->status, 202);
  std::ifstream maps(fmt::format("/proc/{}/maps", stack.gateway().pid()));
  const std::string mapped(std::istreambuf_iterator<char>(maps), {});
  ASSERT_NE(mapped.find("/gateway"), std::string::npos) << "not the gateway's maps";
  const bool jemalloc = mapped.find("/libjemalloc.so") != std::string::npos;
  EXPECT_EQ(jemalloc, std::string_view(BATCHQ_GATEWAY_ALLOCATOR) == "jemalloc")
      << "built for " << BATCHQ_GATEWAY_ALLOCATOR;
}

TEST(PipelineTest, ASubmitThatMayWaitAnswersTheEndedJobInOneRoundTrip) {
  Stack stack(StackOptions{.workers = 1});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto client = stack.Client();
  auto waited =
      client->PostJson("/v1/jobs?wait_ms=30000", R"({"type":"upper","input":"one trip"})");
  ASSERT_TRUE(waited);
  ASSERT_EQ(waited->status, 200) << waited->body;
  EXPECT_EQ(JsonString(waited->body, "status"), "succeeded") << waited->body;
  EXPECT_EQ(JsonString(waited->body, "result"), "ONE TRIP");
  EXPECT_EQ(waited->Header("Location"), "/v1/jobs/" + JsonString(waited->body, "id"));

  // RFC 7240's preference, in seconds, among others the gateway ignores.
  auto preferred = client->Send(
      HttpRequest{"POST",
                  "/v1/jobs",
                  R"({"type":"upper","input":"preferred"})",
                  {{"Content-Type", "application/json"}, {"Prefer", "respond-async, wait=30"}}});
  ASSERT_TRUE(preferred);
  ASSERT_EQ(preferred->status, 200) << preferred->body;
  EXPECT_EQ(JsonString(preferred->body, "result"), "PREFERRED");

  auto plain = client->PostJson("/v1/jobs", R"({"type":"upper","input":"later"})");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->status, 202) << "without a wait, the answer comes at once";

  auto malformed = client->PostJson("/v1/jobs?wait_ms=soon", R"({"type":"upper","input":"x"})");
  ASSERT_TRUE(malformed);
  EXPECT_EQ(malformed->status, 400) << malformed->body;
  EXPECT_EQ(JsonString(malformed->body, "error", "code"), "invalid_request");
}

TEST(PipelineTest, ASubmitWhoseJobOutlastsItsWaitIsAnswered202AndTheJobStillRuns) {
  Stack stack(StackOptions{.workers = 0});  // no worker yet: the job cannot end in time
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  auto client = stack.Client();
  auto accepted =
      client->PostJson("/v1/jobs?wait_ms=200", R"({"type":"upper","input":"patience"})");
  ASSERT_TRUE(accepted);
  ASSERT_EQ(accepted->status, 202) << accepted->body;
  EXPECT_EQ(JsonString(accepted->body, "status"), "queued");
  const std::string id = JsonString(accepted->body, "id");
  EXPECT_EQ(accepted->Header("Location"), "/v1/jobs/" + id);
  stack.AddWorker();
  EXPECT_EQ(JsonString(WaitTerminal(*client, id), "result"), "PATIENCE") << stack.Logs();
}

// The `jobs` array of a :batch answer, each element as compact JSON.
std::vector<std::string> BatchItems(const std::string& body) {
  simdjson::dom::parser parser;
  std::vector<std::string> items;
  simdjson::dom::array array;
  if (parser.parse(body)["jobs"].get(array) != simdjson::SUCCESS) return items;
  for (auto item : array) items.push_back(simdjson::minify(item));
  return items;
}

TEST(PipelineTest, ABatchThatMayWaitAnswersWhenItsLastJobHasEnded) {
  // One job per batch and one at a time: the three sleep jobs end 300 ms apart, so the
  // answer must wait for the last one, not the first.
  Stack stack(StackOptions{.workers = 1,
                           .broker_args = {"--type", "sleep:max_batch_size=1", "--type", "upper"},
                           .worker_args = {"--sleep-fixed-us", "300000", "--credits", "1"}});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto client = stack.Client();
  auto waited = client->PostJson(
      "/v1/jobs:batch?wait_ms=30000",
      R"({"jobs":[{"type":"sleep","input":1},{"type":"nope","input":2},)"
      R"({"type":"sleep","input":3},{"type":"sleep","input":4},{"type":"upper","input":"ab"}]})");
  ASSERT_TRUE(waited);
  ASSERT_EQ(waited->status, 200) << waited->body;
  const auto items = BatchItems(waited->body);
  ASSERT_EQ(items.size(), 5u) << waited->body;
  for (const std::size_t i : {0u, 2u, 3u, 4u}) {
    EXPECT_EQ(JsonString(items[i], "status"), "succeeded") << items[i];
    EXPECT_FALSE(JsonString(items[i], "finished_at").empty())
        << "the whole job, as GET answers it: " << items[i];
  }
  EXPECT_EQ(JsonString(items[1], "error", "code"), "unknown_type") << "a refusal stays as it was";
  EXPECT_EQ(JsonString(items[4], "result"), "AB");

  // A wait too short for the jobs is the plain 202, and the jobs still run.
  auto hurried =
      client->PostJson("/v1/jobs:batch?wait_ms=50",
                       R"({"jobs":[{"type":"sleep","input":5},{"type":"sleep","input":6}]})");
  ASSERT_TRUE(hurried);
  ASSERT_EQ(hurried->status, 202) << hurried->body;
  const auto queued = BatchItems(hurried->body);
  ASSERT_EQ(queued.size(), 2u);
  for (const auto& item : queued) {
    EXPECT_EQ(JsonString(item, "status"), "queued") << item;
    EXPECT_EQ(JsonString(WaitTerminal(*client, JsonString(item, "id")), "status"), "succeeded");
  }
}

TEST(PipelineTest, CancelledJobNeverRunsAndLongPollSeesIt) {
  Stack stack(StackOptions{.workers = 0});
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  auto client = stack.Client();
  auto submitted = client->PostJson("/v1/jobs", R"({"type":"upper","input":"never"})");
  ASSERT_TRUE(submitted);
  const std::string id = JsonString(submitted->body, "id");

  std::string polled_status;
  std::thread poller([&] {
    auto other = stack.Client();
    auto polled = other->Get(fmt::format("/v1/jobs/{}?wait_ms=60000", id));
    if (polled) polled_status = JsonString(polled->body, "status");
  });
  auto cancelled = client->Delete("/v1/jobs/" + id);
  poller.join();
  ASSERT_TRUE(cancelled);
  EXPECT_EQ(cancelled->status, 200) << cancelled->body;
  EXPECT_EQ(polled_status, "cancelled");

  auto again = client->Delete("/v1/jobs/" + id);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 409);
  EXPECT_EQ(JsonString(again->body, "error", "code"), "not_cancellable");

  // A worker arriving later must skip the cancelled job.
  stack.AddWorker();
  ASSERT_TRUE(stack.WaitReady(1));
  auto ok = client->PostJson("/v1/jobs", R"({"type":"upper","input":"after"})");
  ASSERT_TRUE(ok);
  const std::string body = WaitTerminal(*client, JsonString(ok->body, "id"));
  EXPECT_EQ(JsonString(body, "status"), "succeeded");
  auto final_state = client->Get("/v1/jobs/" + id);
  ASSERT_TRUE(final_state);
  EXPECT_EQ(JsonString(final_state->body, "status"), "cancelled");
  EXPECT_EQ(JsonString(final_state->body, "worker"), "");
}

TEST(PipelineTest, ResultEndpointServesTheRawResult) {
  Stack stack(StackOptions{.workers = 1});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto client = stack.Client();
  auto submitted = client->PostJson("/v1/jobs", R"({"type":"upper","input":"raw"})");
  ASSERT_TRUE(submitted);
  const std::string id = JsonString(submitted->body, "id");
  ASSERT_FALSE(WaitTerminal(*client, id).empty());
  auto result = client->Get("/v1/jobs/" + id + "/result");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, R"("RAW")");
  EXPECT_EQ(result->Header("Content-Type"), "application/json");
}

TEST(PipelineTest, TypesListsBatchingSettingsAndLiveWorkers) {
  Stack stack(StackOptions{
      .workers = 2,
      .broker_args = {"--type", "upper:max_batch_size=16,max_delay_ms=3", "--type", "sleep"}});
  ASSERT_TRUE(stack.WaitReady(2)) << stack.Logs();
  auto client = stack.Client();
  auto types = client->Get("/v1/types");
  ASSERT_TRUE(types);
  ASSERT_EQ(types->status, 200);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(types->body).get(root), simdjson::SUCCESS);
  bool found = false;
  for (auto type : root["types"].get_array()) {
    if (type["name"].get_string().value() != "upper") continue;
    found = true;
    EXPECT_EQ(type["max_batch_size"].get_int64().value(), 16);
    EXPECT_EQ(type["max_delay_us"].get_int64().value(), 3000);
    EXPECT_EQ(type["workers"].get_int64().value(), 2);
  }
  EXPECT_TRUE(found) << types->body;
}

TEST(PipelineTest, ListJobsShowsTheNewestFirstWithTheirTimeline) {
  Stack stack({.workers = 1});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto client = stack.Client();
  std::vector<std::string> ids;
  for (const char* input : {"a", "b", "c"}) {
    auto accepted = client->PostJson("/v1/jobs", JobBody("upper", input));
    ASSERT_TRUE(accepted && accepted->status == 202);
    ids.push_back(JsonString(accepted->body, "id"));
  }
  // Jobs from :batch are listed too, in request order reversed like any others.
  auto batch = client->PostJson(
      "/v1/jobs:batch", R"({"jobs":[{"type":"upper","input":"d"},{"type":"upper","input":"e"}]})");
  ASSERT_TRUE(batch && batch->status == 202) << (batch ? batch->body : "");
  for (const auto& id : ids) {
    ASSERT_EQ(JsonString(WaitTerminal(*client, id), "status"), "succeeded");
  }

  auto listed = client->Get("/v1/jobs?limit=4");
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->status, 200) << listed->body;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(listed->body).get(root), simdjson::SUCCESS);
  std::vector<std::string> order;
  for (auto job : root["jobs"].get_array()) {
    order.emplace_back(job["id"].get_string().value());
    std::int64_t created = 0;
    EXPECT_EQ(job["timeline"]["created_us"].get(created), simdjson::SUCCESS);
    EXPECT_GT(created, 0);
  }
  ASSERT_EQ(order.size(), 4u) << listed->body;
  EXPECT_EQ(order[2], ids[2]);
  EXPECT_EQ(order[3], ids[1]);
  // Lists give summaries: the status, never the input or the result (GET has them).
  auto all = client->Get("/v1/jobs");
  ASSERT_TRUE(all && all->status == 200);
  EXPECT_NE(all->body.find(R"("status":"succeeded")"), std::string::npos) << all->body;
  EXPECT_EQ(all->body.find(R"("result")"), std::string::npos) << all->body;
  EXPECT_EQ(all->body.find(R"("input")"), std::string::npos) << all->body;

  // Filters and pages: three failed jobs among successes, two a page.
  std::vector<std::string> failed;
  for (int i = 0; i < 3; ++i) {
    auto bad = client->PostJson("/v1/jobs", R"({"type":"upper","input":7})");
    ASSERT_TRUE(bad && bad->status == 202);
    failed.push_back(JsonString(bad->body, "id"));
    ASSERT_EQ(JsonString(WaitTerminal(*client, failed.back()), "status"), "failed");
  }
  std::vector<std::string> paged;
  std::string cursor;
  for (int page = 0; page < 3; ++page) {
    auto listed_failed = client->Get("/v1/jobs?status=failed&type=upper&limit=2" +
                                     (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_TRUE(listed_failed && listed_failed->status == 200);
    simdjson::dom::element page_root;
    ASSERT_EQ(parser.parse(listed_failed->body).get(page_root), simdjson::SUCCESS);
    for (auto job : page_root["jobs"].get_array()) {
      paged.emplace_back(job["id"].get_string().value());
      EXPECT_EQ(std::string_view(job["error"]["code"].get_string().value()), "invalid_input");
    }
    std::string_view next;
    if (page_root["next_cursor"].get(next) != simdjson::SUCCESS) break;
    cursor = std::string(next);
  }
  EXPECT_EQ(paged, (std::vector<std::string>{failed[2], failed[1], failed[0]}))
      << "newest first, each once, across pages";
  // A job of half a megabyte in and out lists in a few hundred bytes.
  const std::string big(500 * 1024, 'b');
  auto large = client->PostJson("/v1/jobs", R"({"type":"upper","input":")" + big + R"("})");
  ASSERT_TRUE(large && large->status == 202) << (large ? large->body : "");
  const std::string large_id = JsonString(large->body, "id");
  ASSERT_EQ(JsonString(WaitTerminal(*client, large_id), "status"), "succeeded");
  auto newest = client->Get("/v1/jobs?limit=1");
  ASSERT_TRUE(newest && newest->status == 200);
  EXPECT_NE(newest->body.find(large_id), std::string::npos);
  EXPECT_LT(newest->body.size(), 2000u) << newest->body.substr(0, 300);
  for (const char* bad_query : {"status=lost", "type=no%20type", "cursor=1000", "cursor=-1"}) {
    auto refused = client->Get(std::string("/v1/jobs?") + bad_query);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 400) << bad_query << ": " << refused->body;
  }

  auto too_many = client->Get("/v1/jobs?limit=201");
  ASSERT_TRUE(too_many);
  EXPECT_EQ(too_many->status, 400);
  EXPECT_EQ(JsonString(too_many->body, "error", "code"), "invalid_request") << too_many->body;
}

TEST(PipelineTest, TypesCountDispatchedBatchesBySize) {
  Stack stack({.workers = 1});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto client = stack.Client();
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    auto accepted = client->PostJson("/v1/jobs", JobBody("upper", "n" + std::to_string(i)));
    ASSERT_TRUE(accepted && accepted->status == 202);
    ids.push_back(JsonString(accepted->body, "id"));
  }
  // Each job reports the size of the batch it ran in; the buckets must add up to them.
  std::map<std::string, std::int64_t> batch_sizes;
  for (const auto& id : ids) {
    const std::string job = WaitTerminal(*client, id);
    ASSERT_EQ(JsonString(job, "status"), "succeeded") << job;
    batch_sizes[JsonString(job, "batch", "id")] = JsonInt(job, "batch", "size");
  }
  std::vector<std::int64_t> want(12, 0);
  for (const auto& [batch, size] : batch_sizes) {
    std::size_t bucket = 0;
    for (std::int64_t bound = 1; bound < size; bound *= 2) ++bucket;
    ++want[bucket];
  }
  // The gateway relays the broker's status as of its last ping: poll (bounded).
  std::vector<std::int64_t> got;
  std::string body;
  for (int poll = 0; poll < 100 && got != want; ++poll) {
    if (poll > 0) std::this_thread::sleep_for(50ms);
    auto types = client->Get("/v1/types");
    ASSERT_TRUE(types && types->status == 200);
    body = types->body;
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    ASSERT_EQ(parser.parse(body).get(root), simdjson::SUCCESS);
    got.clear();
    for (auto type : root["types"].get_array()) {
      if (type["name"].get_string().value() != "upper") continue;
      for (auto count : type["batch_sizes"].get_array()) got.push_back(count.get_int64().value());
    }
  }
  EXPECT_EQ(got, want) << body;
}

TEST(PipelineTest, DashboardPageIsServedAtRootAndUi) {
  Stack stack({.workers = 1});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto client = stack.Client();
  for (const char* path : {"/", "/ui"}) {
    auto page = client->Get(path);
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, 200) << path;
    EXPECT_EQ(page->Header("Content-Type"), "text/html; charset=utf-8") << path;
    EXPECT_NE(page->body.find("<title>batchq dashboard</title>"), std::string::npos) << path;
  }
}

TEST(PipelineTest, JsonLogsCarryTheBatchAndJobIds) {
  const std::vector<std::string> json_debug = {"--log-json", "--log-level", "debug"};
  Stack stack({.workers = 1,
               .broker_args = json_debug,
               .gateway_args = json_debug,
               .worker_args = json_debug});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto client = stack.Client();
  auto bad = client->PostJson("/v1/jobs", R"({"type":"upper","input":5})");
  ASSERT_TRUE(bad && bad->status == 202);
  const std::string id = JsonString(bad->body, "id");
  const std::string job = WaitTerminal(*client, id);
  ASSERT_EQ(JsonString(job, "status"), "failed") << job;
  const std::string batch_id = JsonString(job, "batch", "id");
  ASSERT_FALSE(batch_id.empty()) << job;

  // Every line of every process is one JSON object; the lines about this batch and
  // job carry their ids as fields.
  struct Seen {
    bool batch_line = false;
    bool job_line = false;
  };
  auto scan = [&](const std::string& log, const char* process) {
    Seen seen;
    std::size_t start = 0;
    while (start < log.size()) {
      const std::size_t end = log.find('\n', start);
      const std::string line = log.substr(start, end - start);
      start = end == std::string::npos ? log.size() : end + 1;
      if (line.empty()) continue;
      simdjson::dom::parser parser;
      simdjson::dom::element root;
      EXPECT_EQ(parser.parse(line).get(root), simdjson::SUCCESS) << process << ": " << line;
      std::string_view line_batch, line_job;
      if (root["batch_id"].get(line_batch) != simdjson::SUCCESS) continue;
      if (line_batch != batch_id) continue;
      seen.batch_line = true;
      if (root["job_id"].get(line_job) == simdjson::SUCCESS && line_job == id) {
        seen.job_line = true;
      }
    }
    return seen;
  };
  const Seen broker = scan(stack.broker().ReadLog(), "broker");
  EXPECT_TRUE(broker.batch_line) << stack.broker().ReadLog();
  // The worker says why the job failed, on a line with both ids.
  const Seen worker = scan(stack.worker(0).ReadLog(), "worker");
  EXPECT_TRUE(worker.job_line) << stack.worker(0).ReadLog();
  scan(stack.gateway().ReadLog(), "gateway");
}

TEST(PipelineTest, MetricsCountAnswersByRouteAndCode) {
  Stack stack({.workers = 1});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto client = stack.Client();
  auto accepted = client->PostJson("/v1/jobs", JobBody("upper", "metrics"));
  ASSERT_TRUE(accepted);
  ASSERT_EQ(accepted->status, 202);
  ASSERT_FALSE(WaitTerminal(*client, JsonString(accepted->body, "id")).empty());
  auto refused = client->PostJson("/v1/jobs", "{not json");
  ASSERT_TRUE(refused);
  ASSERT_EQ(refused->status, 400);
  auto metrics = client->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->Header("Content-Type").find("text/plain; version=0.0.4"), std::string::npos);
  const std::string& text = metrics->body;
  EXPECT_NE(text.find(R"(batchq_http_requests_total{code="202",route="/v1/jobs"} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(batchq_http_requests_total{code="400",route="/v1/jobs"} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(route="/v1/jobs/{id}")"), std::string::npos) << text;
}

TEST(PipelineTest, BrokerAndWorkerServeTheirMetrics) {
  // Port 0: each process takes a free port and logs it (ports picked here could be
  // taken by the stack's own processes before they bind).
  Stack stack({.workers = 1,
               .broker_args = {"--metrics-listen", "127.0.0.1:0"},
               .worker_args = {"--metrics-listen", "127.0.0.1:0"}});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  const int broker_port = LoggedMetricsPort(stack.broker().ReadLog());
  const int worker_port = LoggedMetricsPort(stack.worker(0).ReadLog());
  ASSERT_GT(broker_port, 0) << stack.Logs();
  ASSERT_GT(worker_port, 0) << stack.Logs();
  auto client = stack.Client();
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    auto response = client->PostJson("/v1/jobs", JobBody("upper", fmt::format("m{}", i)));
    ASSERT_TRUE(response && response->status == 202);
    ids.push_back(JsonString(response->body, "id"));
  }
  ASSERT_FALSE(WaitTerminal(*client, ids[0], 1).empty());  // warm the connection
  auto bad = client->PostJson("/v1/jobs", R"({"type":"upper","input":5})");
  ASSERT_TRUE(bad && bad->status == 202);
  ids.push_back(JsonString(bad->body, "id"));
  for (const auto& id : ids) ASSERT_FALSE(WaitTerminal(*client, id).empty());

  auto scrape = [](int port) { return ScrapeMetrics(fmt::format("http://127.0.0.1:{}", port)); };
  // Gauges move on the broker's heartbeat tick (1 s): poll a bounded while.
  std::string broker;
  for (int i = 0; i < 50; ++i) {
    broker = scrape(broker_port);
    if (broker.find("batchq_workers_alive 1") != std::string::npos) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_NE(broker.find("batchq_workers_alive 1"), std::string::npos) << broker;
  EXPECT_NE(broker.find(R"(batchq_jobs_submitted_total{type="upper",verdict="accepted"} 21)"),
            std::string::npos)
      << broker;
  EXPECT_NE(broker.find(R"(batchq_batches_total{reason=")"), std::string::npos) << broker;
  EXPECT_NE(broker.find(R"(batchq_batch_size_sum{type="upper"} 21)"), std::string::npos) << broker;
  EXPECT_NE(broker.find(R"(batchq_queue_wait_seconds_count{type="upper"} 21)"), std::string::npos)
      << broker;
  EXPECT_NE(broker.find(R"(batchq_queue_depth{type="upper"} 0)"), std::string::npos) << broker;

  const std::string worker = scrape(worker_port);
  EXPECT_NE(worker.find(R"(batchq_worker_jobs_total{code="",outcome="succeeded",type="upper"} 20)"),
            std::string::npos)
      << worker;
  EXPECT_NE(
      worker.find(
          R"(batchq_worker_jobs_total{code="invalid_input",outcome="failed",type="upper"} 1)"),
      std::string::npos)
      << worker;
  EXPECT_NE(worker.find("batchq_worker_busy_seconds_total"), std::string::npos) << worker;
  EXPECT_NE(worker.find(R"(batchq_worker_batch_seconds_count{type="upper"})"), std::string::npos)
      << worker;
}

// The names of a process's threads, as `top -H` shows them.
std::multiset<std::string> ThreadNames(pid_t pid) {
  std::multiset<std::string> names;
  const std::string tasks = fmt::format("/proc/{}/task", pid);
  for (const auto& task : std::filesystem::directory_iterator(tasks)) {
    std::string name;
    std::getline(std::ifstream(task.path() / "comm"), name);
    names.insert(name);
  }
  return names;
}

TEST(PipelineTest, EachProcessNamesTheThreadsItStarts) {
  // Two I/O threads whatever the host's CPUs (the default depends on them).
  Stack stack(StackOptions{.gateway_args = {"--threads", "2"}});
  ASSERT_TRUE(stack.WaitReady(2)) << stack.Logs();
  const auto gateway = ThreadNames(stack.gateway().pid());
  for (const char* name :
       {"gateway", "io-1", "broker-link", "done-listener", "group-commit", "group-read"}) {
    EXPECT_EQ(gateway.count(name), 1u) << name;
  }
  EXPECT_EQ(gateway.count("blocking-call"), 2u);
  const auto broker = ThreadNames(stack.broker().pid());
  EXPECT_EQ(broker.count("broker"), 1u);
  EXPECT_EQ(broker.count("record-check"), 1u);
  const auto worker = ThreadNames(stack.worker(0).pid());
  for (const char* name : {"claim", "run", "write"}) EXPECT_EQ(worker.count(name), 1u) << name;
  // Its main thread, and OpenBLAS's own, keep the process's name.
  EXPECT_GE(worker.count("gpu_worker"), 1u);
}

TEST(PipelineTest, TheGatewayRunsOneIoThreadWhereItMayUseTwoCpusOrFewer) {
  cpu_set_t mine;
  ASSERT_EQ(sched_getaffinity(0, sizeof(mine), &mine), 0);
  int first = 0;
  while (!CPU_ISSET(first, &mine)) ++first;
  {
    // The stack's processes inherit this thread's mask: one CPU.
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
    BOOST_SCOPE_EXIT_ALL(&) { sched_setaffinity(0, sizeof(mine), &mine); };
    Stack stack(StackOptions{.workers = 0});
    ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
    EXPECT_EQ(ThreadNames(stack.gateway().pid()).count("io-1"), 0u);
    EXPECT_NE(stack.Logs().find("1 I/O thread (1 CPU usable)"), std::string::npos) << stack.Logs();
  }
  // Told, it runs as many as it is told, on any host.
  Stack stack(StackOptions{.workers = 0, .gateway_args = {"--threads", "3"}});
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  const auto names = ThreadNames(stack.gateway().pid());
  EXPECT_EQ(names.count("io-1") + names.count("io-2"), 2u);
}

// A CPU quota counts as its CPUs: in a cgroup allowed one CPU, the gateway says it may use
// one. A real group of cgroup v1's cpu controller (as this kind of host, and Docker on
// such hosts, have it) holds the thread that starts the stack; its processes inherit it.
// Skips where no such group can be made (a cgroup v2 host, or not root); the v2 files
// are read by the same walk (GatewayConfigTest).
TEST(PipelineTest, TheGatewayCountsACgroupCpuQuotaAsItsCpus) {
  std::ifstream proc("/proc/self/cgroup");
  const std::string text{std::istreambuf_iterator<char>(proc), std::istreambuf_iterator<char>()};
  const std::string v1 = CpuCgroupsOf(text).v1;
  const std::filesystem::path mount = "/sys/fs/cgroup/cpu";
  if (v1.empty() || !std::filesystem::exists(mount / "cpu.cfs_quota_us")) {
    GTEST_SKIP() << "no cgroup v1 cpu hierarchy here";
  }
  // A container sees its own group at the mount's root.
  std::filesystem::path parent = mount / v1.substr(1);
  if (!std::filesystem::exists(parent / "tasks")) parent = mount;
  const std::filesystem::path group = parent / fmt::format("batchq-test-{}", getpid());
  std::error_code made;
  if (!std::filesystem::create_directory(group, made)) {
    GTEST_SKIP() << "cannot make a cpu cgroup under " << parent << ": " << made.message();
  }
  BOOST_SCOPE_EXIT_ALL(&) { std::filesystem::remove(group, made); };
  auto write = [](const std::filesystem::path& file, const std::string& text) {
    std::ofstream out(file);
    out << text << std::flush;
    return out.good();
  };
  ASSERT_TRUE(write(group / "cpu.cfs_period_us", "100000"));
  ASSERT_TRUE(write(group / "cpu.cfs_quota_us", "100000"));
  const std::string me = std::to_string(gettid());
  ASSERT_TRUE(write(group / "tasks", me));
  BOOST_SCOPE_EXIT_ALL(&) { write(parent / "tasks", me); };
  Stack stack(StackOptions{.workers = 0});
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  EXPECT_NE(stack.Logs().find("(1 CPU usable)"), std::string::npos) << stack.Logs();
}

}  // namespace
}  // namespace batchq::test
