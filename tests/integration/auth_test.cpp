// Keys, scopes and tenants with real processes: every route of the API probed with no
// key, a malformed key, a wrong secret, a revoked key, a key without the route's scope,
// another tenant's key and the owner's key. The matrix (probe, expected, observed) is
// printed and written to auth_matrix.md in the working directory; every row must hold.
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/support/stack.h"

namespace batchq::test {
namespace {

using namespace std::chrono_literals;

struct Route {
  std::string method;
  std::string name;    // as in the OpenAPI document
  std::string target;  // with the probe's ids filled in
  std::string body;
  std::string scope;  // the scope it needs
};

struct Row {
  std::string route;
  std::string probe;
  int expected = 0;
  int observed = 0;
  std::string code;  // the error code observed, if any
};

std::string ErrorCodeOf(const HttpResponse& response) {
  const auto at = response.body.find(R"("code":")");
  if (at == std::string::npos) return "";
  const auto start = at + 8;
  return response.body.substr(start, response.body.find('"', start) - start);
}

class AuthTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stack_ =
        new Stack(StackOptions{.workers = 1, .broker_args = {"--type", "upper", "--type", "idle"}});
    ASSERT_TRUE(stack_->WaitReady(1)) << stack_->Logs();
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }

  // One request with `key` (empty: no Authorization header; "raw:..." sends the text
  // after "raw:" as the whole header value).
  static HttpResponse Call(const std::string& key, const Route& route) {
    HttpClientOptions options;
    options.timeout = 10s;
    auto client = HttpClient::Connect(stack_->url(), options);
    EXPECT_TRUE(client);
    HttpRequest request{route.method, route.target, route.body, {}};
    if (!route.body.empty()) request.headers.emplace_back("Content-Type", "application/json");
    if (key.starts_with("raw:")) {
      request.headers.emplace_back("Authorization", key.substr(4));
    } else if (!key.empty()) {
      request.headers.emplace_back("Authorization", "Bearer " + key);
    }
    auto response = (*client)->Send(request);
    EXPECT_TRUE(response) << route.method << " " << route.target;
    return response ? *response : HttpResponse{};
  }

  static Stack* stack_;
};
Stack* AuthTest::stack_ = nullptr;

TEST_F(AuthTest, EveryRouteRefusesNoKeyBadKeysRevokedKeysWrongScopesAndOtherTenants) {
  const std::string alpha = stack_->CreateKey("alpha", "submit,read,cancel");
  const std::string alpha_submit = stack_->CreateKey("alpha", "submit");
  const std::string alpha_read = stack_->CreateKey("alpha", "read");
  const std::string beta = stack_->CreateKey("beta", "submit,read,cancel");
  const std::string revoked = stack_->CreateKey("alpha", "submit,read,cancel,admin");
  const std::string revoked_id = revoked.substr(3, 12);
  const std::string wrong_secret = alpha.substr(0, alpha.size() - 4) + "0000";

  // Alpha's jobs: one that succeeded, one that stays queued (no worker serves "idle").
  auto owner = stack_->Client(alpha);
  auto done = owner->PostJson("/v1/jobs", R"({"type":"upper","input":"mine"})");
  auto queued = owner->PostJson("/v1/jobs", R"({"type":"idle","input":1})");
  ASSERT_TRUE(done && done->status == 202 && queued && queued->status == 202);
  const std::string done_id = JsonString(done->body, "id");
  const std::string queued_id = JsonString(queued->body, "id");
  ASSERT_NE(WaitTerminal(*owner, done_id).find("succeeded"), std::string::npos);
  // A key to revoke through the API, after it has been seen (and cached) as valid.
  auto before = stack_->Client(revoked)->Get("/v1/types");
  ASSERT_TRUE(before && before->status == 200);
  auto revoke = stack_->Client()->Delete("/v1/keys/" + revoked_id);
  ASSERT_TRUE(revoke && revoke->status == 200) << (revoke ? revoke->body : "");
  ASSERT_TRUE(WaitFor(
      [&] {
        auto r = stack_->Client(revoked)->Get("/v1/types");
        return r && r->status == 401;
      },
      5s));
  const std::string unknown_key = "bq_0123456789ab_" + std::string(64, 'a');
  const std::string job = R"({"type":"upper","input":"x"})";
  const std::vector<Route> routes = {
      {"POST", "/v1/jobs", "/v1/jobs", job, "submit"},
      {"POST", "/v1/jobs:batch", "/v1/jobs:batch", R"({"jobs":[)" + job + "]}", "submit"},
      {"GET", "/v1/jobs", "/v1/jobs", "", "read"},
      {"GET", "/v1/jobs/{id}", "/v1/jobs/" + done_id, "", "read"},
      {"GET", "/v1/jobs/{id}?wait_ms", "/v1/jobs/" + queued_id + "?wait_ms=200", "", "read"},
      {"GET", "/v1/jobs/{id}/result", "/v1/jobs/" + done_id + "/result", "", "read"},
      {"DELETE", "/v1/jobs/{id}", "/v1/jobs/" + queued_id, "", "cancel"},
      {"GET", "/v1/types", "/v1/types", "", "read"},
      {"GET", "/metrics", "/metrics", "", "admin"},
      {"GET", "/v1/keys", "/v1/keys", "", "admin"},
      {"POST", "/v1/keys", "/v1/keys", R"({"tenant":"x","scopes":"read"})", "admin"},
      {"DELETE", "/v1/keys/{id}", "/v1/keys/" + revoked_id, "", "admin"},
  };
  std::vector<Row> rows;
  auto probe = [&](const Route& route, const std::string& name, const std::string& key,
                   int expected) {
    const HttpResponse response = Call(key, route);
    rows.push_back(Row{route.method + " " + route.name, name, expected, response.status,
                       ErrorCodeOf(response)});
    if (expected == 401) {
      EXPECT_EQ(response.Header("WWW-Authenticate"), R"(Bearer realm="batchq")") << route.target;
      EXPECT_EQ(ErrorCodeOf(response), "unauthenticated") << route.target;
    }
    if (expected == 403) {
      EXPECT_EQ(ErrorCodeOf(response), "forbidden") << route.target;
    }
    return response;
  };
  for (const Route& route : routes) {
    probe(route, "no key", "", 401);
    probe(route, "not a bearer key", "raw:Basic dXNlcjpwYXNz", 401);
    probe(route, "malformed key", "bq_nonsense", 401);
    probe(route, "unknown key", unknown_key, 401);
    probe(route, "wrong secret", wrong_secret, 401);
    probe(route, "revoked key", revoked, 401);
    const std::string& lacking = route.scope == "submit"  ? alpha_read
                                 : route.scope == "admin" ? alpha
                                                          : alpha_submit;
    probe(route, "key without '" + route.scope + "'", lacking, 403);
  }
  // Another tenant: alpha's jobs do not exist for beta, on every job route, with the
  // very answer an id that never existed gets.
  const std::string missing_id = "0000000000000000000000000a";
  for (const Route& route : routes) {
    if (!route.name.starts_with("/v1/jobs/")) continue;
    Route absent = route;
    for (const auto& id : {done_id, queued_id}) {
      if (const auto at = absent.target.find(id); at != std::string::npos) {
        absent.target.replace(at, id.size(), missing_id);
      }
    }
    const HttpResponse other = probe(route, "other tenant's key", beta, 404);
    const HttpResponse nothing = Call(beta, absent);
    EXPECT_EQ(other.status, nothing.status) << route.target;
    EXPECT_EQ(other.body, nothing.body) << route.target;
  }
  auto beta_list = stack_->Client(beta)->Get("/v1/jobs?limit=200");
  ASSERT_TRUE(beta_list && beta_list->status == 200);
  EXPECT_EQ(beta_list->body.find(done_id), std::string::npos);
  EXPECT_EQ(beta_list->body.find(queued_id), std::string::npos);
  rows.push_back(Row{"GET /v1/jobs", "other tenant's jobs listed", 0,
                     beta_list->body.find(done_id) == std::string::npos ? 0 : 1, ""});
  // Beta's DELETE did not touch it: alpha's job is still queued, and alpha may cancel it.
  auto still = owner->Get("/v1/jobs/" + queued_id);
  ASSERT_TRUE(still);
  EXPECT_EQ(JsonString(still->body, "status"), "queued");
  // The owner (an admin for admin routes) is served.
  const std::string admin = stack_->admin_key();
  for (const Route& route : routes) {
    if (route.name == "/v1/keys/{id}") continue;  // revoked already; 200 again below
    const int expected = route.method == "POST" && route.name != "/v1/jobs:batch"
                             ? (route.name == "/v1/keys" ? 201 : 202)
                         : route.name == "/v1/jobs:batch" ? 202
                                                          : 200;
    probe(route, route.scope == "admin" ? "admin key" : "owner's key",
          route.scope == "admin" ? admin : alpha, expected);
  }
  probe(routes.back(), "admin key", admin, 200);
  // The probes that need no key.
  for (const std::string path : {"/healthz", "/readyz", "/openapi.json", "/ui"}) {
    probe(Route{"GET", path, path, "", ""}, "no key (open route)", "", 200);
  }

  std::string table = "| route | probe | expected | observed | code |\n|---|---|---|---|---|\n";
  for (const Row& row : rows) {
    table += fmt::format("| {} | {} | {} | {} | {} |\n", row.route, row.probe, row.expected,
                         row.observed, row.code);
    EXPECT_EQ(row.observed, row.expected) << row.route << " / " << row.probe;
  }
  std::ofstream("auth_matrix.md") << table;
  std::cout << table;
}

TEST_F(AuthTest, ARevokedKeyStopsWorkingOnAnotherGatewayToo) {
  const std::string key = stack_->CreateKey("gamma", "read");
  const std::string id = key.substr(3, 12);
  // A second gateway on the same Redis and broker; it sees the key as valid first.
  auto [second, url] = stack_->StartExtraGateway("gateway2");
  HttpClientOptions options;
  options.bearer_token = key;
  auto on_second = HttpClient::Connect(url, options);
  ASSERT_TRUE(on_second);
  // 200 once it reaches the broker (503 until then): the key is valid there.
  ASSERT_TRUE(WaitFor([&] {
    auto r = (*on_second)->Get("/v1/types");
    return r && r->status == 200;
  })) << second.ReadLog();

  auto revoke = stack_->Client()->Delete("/v1/keys/" + id);
  ASSERT_TRUE(revoke && revoke->status == 200);
  EXPECT_EQ(JsonString(revoke->body, "id"), id);
  // Within the key cache (500 ms by default): bounded polling, not a timing assertion.
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitFor(
      [&] {
        auto r = (*on_second)->Get("/v1/types");
        return r && r->status == 401;
      },
      10s));
  std::cout << "revoked key refused by the second gateway after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - start)
                   .count()
            << " ms\n";
  auto listed = stack_->Client()->Get("/v1/keys");
  ASSERT_TRUE(listed && listed->status == 200);
  EXPECT_NE(listed->body.find(id), std::string::npos);
  EXPECT_EQ(listed->body.find("secret"), std::string::npos);
  EXPECT_EQ(listed->body.find(key.substr(16)), std::string::npos) << "a secret was listed";
}

}  // namespace
}  // namespace batchq::test
