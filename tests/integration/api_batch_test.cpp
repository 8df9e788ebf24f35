// POST /v1/batch through a real gateway: each sub-request runs with the caller's key,
// scopes and tenant, and what the route must not run is refused in its place.
#include <gtest/gtest.h>
#include <simdjson.h>

#include "tests/support/stack.h"

namespace batchq::test {
namespace {

struct SubAnswer {
  std::string id;
  std::int64_t status = 0;
  std::string body;  // as JSON text
};

std::vector<SubAnswer> Answers(const std::string& json) {
  simdjson::dom::parser parser;
  std::vector<SubAnswer> out;
  for (const simdjson::dom::element item : parser.parse(json)["responses"].get_array()) {
    SubAnswer answer{std::string(item["id"].get_string().value()), item["status"].get_int64(), ""};
    simdjson::dom::element body;
    if (item["body"].get(body) == simdjson::SUCCESS) answer.body = simdjson::minify(body);
    out.push_back(std::move(answer));
  }
  return out;
}

TEST(ApiBatchTest, MixedCallsRunWithTheCallersKeyAndWhatMustNotRunIsRefusedInPlace) {
  Stack stack({.workers = 1,
               .broker_args = {"--type", "upper", "--type", "parked"},
               .worker_args = {"--type", "upper"}});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto alpha = stack.Client(stack.CreateKey("alpha", "submit,read,cancel"));
  auto beta = stack.Client(stack.CreateKey("beta", "submit,read"));
  const auto mine = alpha->PostJson("/v1/jobs", R"({"type":"upper","input":"mine"})");
  const auto parked = alpha->PostJson("/v1/jobs", R"({"type":"parked","input":1})");
  const auto theirs = beta->PostJson("/v1/jobs", R"({"type":"upper","input":"theirs"})");
  ASSERT_TRUE(mine && parked && theirs);
  const std::string mine_id = JsonString(mine->body, "id");
  const std::string parked_id = JsonString(parked->body, "id");
  const std::string theirs_id = JsonString(theirs->body, "id");

  const auto batch = alpha->PostJson(
      "/v1/batch",
      R"({"requests":[)"
      R"({"id":"submit","method":"POST","url":"/v1/jobs","body":{"type":"upper","input":"x"},)"
      R"("headers":{"Prefer":"wait=10"}},)"
      R"({"id":"get","method":"GET","url":"/v1/jobs/)" +
          mine_id +
          R"(?wait_ms=10000"},)"
          R"({"id":"foreign","method":"GET","url":"/v1/jobs/)" +
          theirs_id +
          R"("},)"
          R"({"id":"cancel","method":"DELETE","url":"/v1/jobs/)" +
          parked_id +
          R"("},)"
          R"({"id":"absolute","method":"GET","url":")" +
          stack.url() +
          R"(/v1/types"},)"
          R"({"id":"nested","method":"POST","url":"/v1/batch","body":{"requests":[]}},)"
          R"({"id":"types","method":"GET","url":"/v1/types"},)"
          R"({"id":"keys","method":"GET","url":"/v1/keys"}]})");
  ASSERT_TRUE(batch);
  ASSERT_EQ(batch->status, 200) << batch->body;
  const auto answers = Answers(batch->body);
  ASSERT_EQ(answers.size(), 8u) << batch->body;
  EXPECT_EQ(answers[0].id, "submit");
  EXPECT_EQ(answers[0].status, 200) << answers[0].body;
  EXPECT_EQ(JsonString(answers[0].body, "result"), "X") << answers[0].body;
  EXPECT_EQ(answers[1].status, 200);
  EXPECT_EQ(JsonString(answers[1].body, "result"), "MINE") << answers[1].body;
  EXPECT_EQ(answers[2].status, 404) << "another tenant's job does not exist for alpha";
  EXPECT_EQ(answers[3].status, 200) << answers[3].body;
  EXPECT_EQ(JsonString(answers[3].body, "status"), "cancelled");
  EXPECT_EQ(answers[4].status, 400) << answers[4].body;
  EXPECT_EQ(JsonString(answers[4].body, "error", "code"), "invalid_request");
  EXPECT_EQ(answers[5].status, 400);
  EXPECT_EQ(JsonString(answers[5].body, "error", "message"), "A batch may not hold another batch.");
  EXPECT_EQ(answers[6].status, 200);
  EXPECT_EQ(answers[7].status, 403) << "alpha's key has no admin scope: " << answers[7].body;

  // A read-only key reads in a batch but cannot submit through one.
  auto reader = stack.Client(stack.CreateKey("alpha", "read"));
  const auto read_only = reader->PostJson(
      "/v1/batch", R"({"requests":[{"id":"1","method":"GET","url":"/v1/jobs/)" + mine_id +
                       R"("},{"id":"2","method":"POST","url":"/v1/jobs",)"
                       R"("body":{"type":"upper","input":"no"}}]})");
  ASSERT_TRUE(read_only);
  ASSERT_EQ(read_only->status, 200) << read_only->body;
  const auto reads = Answers(read_only->body);
  EXPECT_EQ(reads[0].status, 200);
  EXPECT_EQ(reads[1].status, 403) << reads[1].body;

  // The batch itself: a key is needed, a body that is not a batch is refused whole.
  const auto anonymous = stack.Client("")->PostJson("/v1/batch", R"({"requests":[]})");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  const auto duplicate =
      alpha->PostJson("/v1/batch", R"({"requests":[{"id":"1","method":"GET","url":"/v1/types"},)"
                                   R"({"id":"1","method":"GET","url":"/v1/types"}]})");
  ASSERT_TRUE(duplicate);
  EXPECT_EQ(duplicate->status, 400);
  EXPECT_EQ(JsonString(duplicate->body, "error", "code"), "invalid_request");
  const auto not_json = alpha->PostJson("/v1/batch", "{");
  ASSERT_TRUE(not_json);
  EXPECT_EQ(JsonString(not_json->body, "error", "code"), "invalid_json");
  const auto get = alpha->Get("/v1/batch");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 405);
}

}  // namespace
}  // namespace batchq::test
