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
  bool probe = false;  // sent without a key, or with a key lacking the scope
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
  const std::string doomed_key_id = stack.CreateKey("docs", "read").substr(3, 12);
  const std::string hooked_key_id =
      stack.CreateKey("docs", "read", R"("webhook":true)").substr(3, 12);
  const std::string rotate = "/v1/keys/{key_id}:rotate-webhook-secret";
  const std::string resend = "/v1/webhooks/deliveries/{delivery_id}:resend";
  const std::string big(8192, ' ');
  const std::vector<Call> calls = {
      {"POST", "/v1/jobs", "/v1/jobs", job},
      {"POST", "/v1/jobs", "/v1/jobs?wait_ms=30000", job},
      {"POST", "/v1/jobs", "/v1/jobs?wait_ms=soon", job},
      {"POST", "/v1/jobs", "/v1/jobs", "{not json"},
      {"POST", "/v1/jobs", "/v1/jobs", R"({"type":"nope","input":1})"},
      {"POST", "/v1/jobs", "/v1/jobs", R"({"type":"upper","input":1,"callback_url":"ftp://x"})"},
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
      {"POST", "/v1/jobs/{id}:retry", "/v1/jobs/" + failed_id + ":retry", "{}"},
      {"POST", "/v1/jobs/{id}:retry", "/v1/jobs/" + ok_id + ":retry", "{}"},
      {"POST", "/v1/jobs/{id}:retry", "/v1/jobs/doesnotexist:retry", "{}"},
      {"GET", "/v1/jobs/{id}:retry", "/v1/jobs/" + ok_id + ":retry", ""},
      {"GET", "/v1/jobs/{id}/result", "/v1/jobs/" + ok_id + "/result", ""},
      {"GET", "/v1/jobs/{id}/result", "/v1/jobs/" + failed_id + "/result", ""},
      {"GET", "/v1/jobs/{id}/result", "/v1/jobs/doesnotexist/result", ""},
      {"POST", "/v1/jobs/{id}/result", "/v1/jobs/" + ok_id + "/result", ""},
      // A finished job's stream replays its story and ends, so a plain client reads it.
      {"GET", "/v1/jobs/{id}/events", "/v1/jobs/" + ok_id + "/events", ""},
      {"GET",
       "/v1/jobs/{id}/events",
       "/v1/jobs/" + ok_id + "/events",
       "",
       {{"Last-Event-ID", "1.2"}}},
      {"GET", "/v1/jobs/{id}/events", "/v1/jobs/doesnotexist/events", ""},
      {"POST", "/v1/jobs/{id}/events", "/v1/jobs/" + ok_id + "/events", ""},
      // A tenant's stream does not end: only its refusals are called here (the event
      // stream test reads its 200).
      {"GET", "/v1/events", "/v1/events?status=done", ""},
      {"POST", "/v1/events", "/v1/events", ""},
      {"GET", "/v1/types", "/v1/types", ""},
      {"GET", "/healthz", "/healthz", ""},
      {"GET", "/readyz", "/readyz", ""},
      {"GET", "/metrics", "/metrics", ""},
      {"GET", "/openapi.json", "/openapi.json", ""},
      {"GET", "/", "/", ""},
      {"GET", "/ui", "/ui", ""},
      {"GET", "/v1/keys", "/v1/keys", ""},
      {"POST", "/v1/keys", "/v1/keys", R"({"tenant":"docs","scopes":["read"]})"},
      {"POST", "/v1/keys", "/v1/keys", R"({"tenant":"docs"})"},
      {"POST",
       "/v1/keys",
       "/v1/keys",
       R"({"tenant":"docs","scopes":"read"})",
       {{"Content-Type", "text/plain"}}},
      {"PUT", "/v1/keys", "/v1/keys", ""},
      {"DELETE", "/v1/keys/{key_id}", "/v1/keys/" + doomed_key_id, ""},
      {"DELETE", "/v1/keys/{key_id}", "/v1/keys/nosuchkey", ""},
      {"GET", "/v1/keys/{key_id}", "/v1/keys/" + doomed_key_id, ""},
      {"POST", rotate, "/v1/keys/" + hooked_key_id + ":rotate-webhook-secret", ""},
      {"POST", rotate, "/v1/keys/nosuchkey:rotate-webhook-secret", ""},
      {"GET", rotate, "/v1/keys/" + hooked_key_id + ":rotate-webhook-secret", ""},
      {"GET", "/v1/webhooks/deliveries", "/v1/webhooks/deliveries?state=failed", ""},
      {"GET", "/v1/webhooks/deliveries", "/v1/webhooks/deliveries", ""},
      {"POST", "/v1/webhooks/deliveries", "/v1/webhooks/deliveries?state=failed", ""},
      {"POST", resend, "/v1/webhooks/deliveries/nosuchjob.1:resend", ""},
      {"GET", resend, "/v1/webhooks/deliveries/nosuchjob.1:resend", ""},
      {"POST", "/v1/batch", "/v1/batch",
       R"({"requests":[{"id":"1","method":"GET","url":"/v1/jobs/)" + ok_id + R"("}]})"},
      {"POST", "/v1/batch", "/v1/batch", R"({"requests":[]})"},
      {"POST", "/v1/batch", "/v1/batch", "{not json"},
      {"POST", "/v1/batch", "/v1/batch", R"({"requests":[]})", {{"Content-Type", "text/plain"}}},
      {"POST", "/v1/batch", "/v1/batch", big},
      {"GET", "/v1/batch", "/v1/batch", ""},
      {"GET", "", "/no/such/route", ""},
  };
  // Every call again without a key, and with a key of another tenant that may only
  // cancel: the 401s and 403s (and the other tenant's 404s) must be documented too.
  const std::string cancel_only = stack.CreateKey("elsewhere", "cancel");
  std::vector<Call> all = calls;
  for (const auto& call : calls) {
    if (call.route.empty() || call.target == "/openapi.json") continue;
    Call keyless = call;
    keyless.headers.emplace_back("Authorization", "");
    keyless.probe = true;
    all.push_back(keyless);
    Call scoped = call;
    scoped.headers.emplace_back("Authorization", "Bearer " + cancel_only);
    scoped.probe = true;
    all.push_back(scoped);
  }

  std::set<std::pair<std::string, std::string>> exercised;
  std::set<int> statuses;
  for (const auto& call : all) {
    auto fresh = stack.Client();  // a 413 closes its connection
    auto response = fresh->Send(HttpRequest{call.method, call.target, call.body, call.headers});
    ASSERT_TRUE(response) << call.method << " " << call.target;
    const std::string where =
        fmt::format("{} {} -> {}", call.method, call.target, response->status);
    statuses.insert(response->status);
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
      // A key is checked before the method, so a probe may be refused first.
      EXPECT_TRUE(response->status == 405 ||
                  (call.probe && (response->status == 401 || response->status == 403)))
          << where << ": method not in the spec";
      continue;
    }
    exercised.emplace(call.route, method);
    simdjson::dom::element documented;
    EXPECT_EQ(operation["responses"][std::to_string(response->status)].get(documented),
              simdjson::SUCCESS)
        << where << ": status not documented";
  }
  EXPECT_TRUE(statuses.contains(401) && statuses.contains(403)) << "the key probes did not run";
  // The security scheme is declared, and the open routes say they need no key.
  std::string_view scheme;
  EXPECT_EQ(spec["components"]["securitySchemes"]["bearerAuth"]["scheme"].get(scheme),
            simdjson::SUCCESS);
  EXPECT_EQ(scheme, "bearer");
  for (const char* open : {"/healthz", "/readyz", "/openapi.json", "/ui"}) {
    simdjson::dom::array none;
    EXPECT_EQ(spec["paths"][open]["get"]["security"].get(none), simdjson::SUCCESS) << open;
    EXPECT_EQ(none.size(), 0u) << open;
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
