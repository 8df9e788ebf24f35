// GET /openapi.json against what the gateway really serves: every route is exercised,
// every status seen is documented for its route and method, and every error body has
// the documented {"error":{"code","message"}} shape.
#include <map>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include "tests/support/stack.h"

namespace batchq::test {
namespace {

struct Call {
  std::string method;
  std::string route;  // the spec's path template
  std::string target;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers = {{"Content-Type", "application/json"}};
};

TEST(OpenApiTest, EveryRouteAndErrorShapeTheGatewayServesIsDocumented) {
  Stack stack({.workers = 1, .gateway_args = {"--max-body-bytes", "4096"}});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto client = stack.Client();

  auto spec_response = client->Get("/openapi.json");
  ASSERT_TRUE(spec_response);
  ASSERT_EQ(spec_response->status, 200);
  simdjson::dom::parser spec_parser;
  simdjson::dom::element spec;
  ASSERT_EQ(spec_parser.parse(spec_response->body).get(spec), simdjson::SUCCESS);
  std::string_view version;
  ASSERT_EQ(spec["openapi"].get(version), simdjson::SUCCESS);
  EXPECT_TRUE(version.starts_with("3."));

  // Jobs to point at: one that succeeded, one that failed.
  auto good = client->PostJson("/v1/jobs", R"({"type":"upper","input":"ok"})");
  auto bad = client->PostJson("/v1/jobs", R"({"type":"upper","input":5})");
  ASSERT_TRUE(good && bad);
  const std::string ok_id = JsonString(good->body, "id");
  const std::string failed_id = JsonString(bad->body, "id");
  ASSERT_FALSE(WaitTerminal(*client, ok_id).empty());
  ASSERT_FALSE(WaitTerminal(*client, failed_id).empty());
  const std::string job = R"({"type":"upper","input":"x"})";
  const std::string big(8192, ' ');
  const std::vector<Call> calls = {
      {"POST", "/v1/jobs", "/v1/jobs", job},
      {"POST", "/v1/jobs", "/v1/jobs", "{not json"},
      {"POST", "/v1/jobs", "/v1/jobs", R"({"type":"nope","input":1})"},
      {"POST", "/v1/jobs", "/v1/jobs", job, {{"Content-Type", "text/plain"}}},
      {"POST", "/v1/jobs", "/v1/jobs", big},
      {"POST",
       "/v1/jobs",
       "/v1/jobs",
       job,
       {{"Content-Type", "application/json"}, {"Idempotency-Key", "k1"}}},
      {"POST",
       "/v1/jobs",
       "/v1/jobs",
       R"({"type":"upper","input":"y"})",
       {{"Content-Type", "application/json"}, {"Idempotency-Key", "k1"}}},
      {"GET", "/v1/jobs", "/v1/jobs", ""},
      {"GET", "/v1/jobs", "/v1/jobs?limit=5", ""},
      {"GET", "/v1/jobs", "/v1/jobs?limit=0", ""},
      {"GET", "/v1/jobs", "/v1/jobs?limit=many", ""},
      {"PUT", "/v1/jobs", "/v1/jobs", ""},
      {"POST", "/v1/jobs:batch", "/v1/jobs:batch", R"({"jobs":[)" + job + R"(,{"type":1}]})"},
      {"POST", "/v1/jobs:batch", "/v1/jobs:batch", R"({"jobs":5})"},
      {"POST", "/v1/jobs:batch", "/v1/jobs:batch", job, {{"Content-Type", "text/plain"}}},
      {"POST", "/v1/jobs:batch", "/v1/jobs:batch", big},
      {"GET", "/v1/jobs:batch", "/v1/jobs:batch", ""},
      {"GET", "/v1/jobs/{id}", "/v1/jobs/" + ok_id, ""},
      {"GET", "/v1/jobs/{id}", "/v1/jobs/" + ok_id + "?wait_ms=10", ""},
      {"GET", "/v1/jobs/{id}", "/v1/jobs/" + ok_id + "?wait_ms=soon", ""},
      {"GET", "/v1/jobs/{id}", "/v1/jobs/doesnotexist", ""},
      {"DELETE", "/v1/jobs/{id}", "/v1/jobs/" + ok_id, ""},
      {"DELETE", "/v1/jobs/{id}", "/v1/jobs/doesnotexist", ""},
      {"GET", "/v1/jobs/{id}/result", "/v1/jobs/" + ok_id + "/result", ""},
      {"GET", "/v1/jobs/{id}/result", "/v1/jobs/" + failed_id + "/result", ""},
      {"GET", "/v1/jobs/{id}/result", "/v1/jobs/doesnotexist/result", ""},
      {"POST", "/v1/jobs/{id}/result", "/v1/jobs/" + ok_id + "/result", ""},
      {"GET", "/v1/types", "/v1/types", ""},
      {"GET", "/healthz", "/healthz", ""},
      {"GET", "/readyz", "/readyz", ""},
      {"GET", "/metrics", "/metrics", ""},
      {"GET", "/openapi.json", "/openapi.json", ""},
      {"GET", "/", "/", ""},
      {"GET", "/ui", "/ui", ""},
      {"GET", "", "/no/such/route", ""},
  };

  std::set<std::pair<std::string, std::string>> exercised;
  for (const auto& call : calls) {
    auto fresh = stack.Client();  // a 413 closes its connection
    auto response = fresh->Send(HttpRequest{call.method, call.target, call.body, call.headers});
    ASSERT_TRUE(response) << call.method << " " << call.target;
    const std::string where =
        fmt::format("{} {} -> {}", call.method, call.target, response->status);
    if (response->status >= 400) {
      simdjson::dom::parser parser;
      simdjson::dom::element body;
      std::string_view code, message;
      ASSERT_EQ(parser.parse(response->body).get(body), simdjson::SUCCESS) << where;
      EXPECT_EQ(body["error"]["code"].get(code), simdjson::SUCCESS) << where;
      EXPECT_EQ(body["error"]["message"].get(message), simdjson::SUCCESS) << where;
      EXPECT_FALSE(code.empty() || message.empty()) << where;
    }
    if (call.route.empty()) {
      EXPECT_EQ(response->status, 404) << where;
      continue;
    }
    std::string method = call.method;
    for (char& c : method) c = static_cast<char>(std::tolower(c));
    simdjson::dom::object operation;
    const auto path_item = spec["paths"][call.route];
    if (path_item[method].get(operation) != simdjson::SUCCESS) {
      // Only "method not allowed" may answer a method the spec leaves out.
      EXPECT_EQ(path_item.error(), simdjson::SUCCESS) << where << ": route not in the spec";
      EXPECT_EQ(response->status, 405) << where << ": method not in the spec";
      continue;
    }
    exercised.emplace(call.route, method);
    simdjson::dom::element documented;
    EXPECT_EQ(operation["responses"][std::to_string(response->status)].get(documented),
              simdjson::SUCCESS)
        << where << ": status not documented";
  }
  // Every operation the spec documents was exercised.
  simdjson::dom::object paths;
  ASSERT_EQ(spec["paths"].get(paths), simdjson::SUCCESS);
  for (auto path : paths) {
    simdjson::dom::object item;
    ASSERT_EQ(path.value.get(item), simdjson::SUCCESS);
    for (auto operation : item) {
      if (operation.key == "parameters") continue;
      EXPECT_TRUE(exercised.contains({std::string(path.key), std::string(operation.key)}))
          << operation.key << " " << path.key << " is documented but was not exercised";
    }
  }
}

}  // namespace
}  // namespace batchq::test
