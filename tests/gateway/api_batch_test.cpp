// POST /v1/batch's body and answer, without a gateway.
#include "gateway/api_batch.h"

#include <gtest/gtest.h>

namespace batchq {
namespace {

TEST(ApiBatchTest, ReadsEachRequestWithItsUrlSplitItsBodyAndItsHeaders) {
  const auto subs = ParseApiBatch(R"({"requests":[
    {"id":"1","method":"GET","url":"/v1/jobs/abc?wait_ms=10"},
    {"id":"2","method":"POST","url":"/v1/jobs","body":{"type":"upper", "input":"x"},
     "headers":{"idempotency-key":"k1","Prefer":"wait=1","Authorization":"Bearer other"}},
    {"id":"3","method":"DELETE","url":"/v1/jobs/abc"}]})");
  ASSERT_TRUE(subs) << subs.error().message;
  ASSERT_EQ(subs->size(), 3u);
  const auto& get = (*subs)[0];
  EXPECT_EQ(get.id, "1");
  EXPECT_EQ(get.request.method, "GET");
  EXPECT_EQ(get.request.path, "/v1/jobs/abc");
  EXPECT_EQ(get.request.query, "wait_ms=10");
  EXPECT_FALSE(get.refused);
  const auto& post = (*subs)[1];
  EXPECT_EQ(post.request.body, R"({"type":"upper","input":"x"})");
  EXPECT_EQ(post.request.content_type, "application/json");
  EXPECT_EQ(post.request.idempotency_key, "k1");
  EXPECT_EQ(post.request.prefer, "wait=1");
  EXPECT_TRUE(post.request.authorization.empty()) << "the batch's own key is used";
  EXPECT_EQ((*subs)[2].request.method, "DELETE");
}

TEST(ApiBatchTest, RefusesAbsoluteUrlsOtherRoutesNestedBatchesAndOtherMethodsOneByOne) {
  const auto subs = ParseApiBatch(R"({"requests":[
    {"id":"a","method":"GET","url":"http://169.254.169.254/latest/meta-data"},
    {"id":"b","method":"GET","url":"//evil.example/v1/jobs"},
    {"id":"c","method":"GET","url":"/healthz"},
    {"id":"d","method":"POST","url":"/v1/batch","body":{"requests":[]}},
    {"id":"e","method":"PUT","url":"/v1/jobs/abc"},
    {"id":"f","method":"GET","url":"/v1/types"},
    {"id":"g","method":"GET","url":"/v1/events?type=upper"},
    {"id":"h","method":"GET","url":"/v1/jobs/abc/events"}]})");
  ASSERT_TRUE(subs) << subs.error().message;
  for (std::size_t i = 0; i < 4; ++i) {
    ASSERT_TRUE((*subs)[i].refused) << (*subs)[i].id;
    EXPECT_EQ((*subs)[i].refused->code, ErrorCode::kInvalidRequest) << (*subs)[i].id;
  }
  EXPECT_NE((*subs)[0].refused->message.find("relative /v1/"), std::string::npos);
  EXPECT_EQ((*subs)[3].refused->message, "A batch may not hold another batch.");
  ASSERT_TRUE((*subs)[4].refused);
  EXPECT_EQ((*subs)[4].refused->code, ErrorCode::kMethodNotAllowed);
  EXPECT_FALSE((*subs)[5].refused);
  for (std::size_t i = 6; i < 8; ++i) {
    ASSERT_TRUE((*subs)[i].refused) << "an event stream cannot be one answer of a batch";
    EXPECT_NE((*subs)[i].refused->message.find("event streams"), std::string::npos);
  }
}

TEST(ApiBatchTest, ABodyThatIsNotABatchIsRefusedWhole) {
  EXPECT_EQ(ParseApiBatch("{").error().code, ErrorCode::kInvalidJson);
  for (const char* body :
       {R"({"calls":[]})", R"({"requests":[]})", R"({"requests":[1]})",
        R"({"requests":[{"method":"GET","url":"/v1/types"}]})",
        R"({"requests":[{"id":"","method":"GET","url":"/v1/types"}]})",
        R"({"requests":[{"id":"1","url":"/v1/types"}]})",
        R"({"requests":[{"id":"1","method":"GET","url":"/v1/types","headers":{"Prefer":1}}]})",
        R"({"requests":[{"id":"1","method":"GET","url":"/v1/types"},)"
        R"({"id":"1","method":"GET","url":"/v1/types"}]})"}) {
    const auto parsed = ParseApiBatch(body);
    ASSERT_FALSE(parsed) << body;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidRequest) << body;
  }
  std::string many = R"({"requests":[)";
  for (std::size_t i = 0; i <= kMaxApiBatchRequests; ++i) {
    many += (i ? "," : "") + std::string(R"({"id":")") + std::to_string(i) +
            R"(","method":"GET","url":"/v1/types"})";
  }
  many += "]}";
  const auto too_many = ParseApiBatch(many);
  ASSERT_FALSE(too_many);
  EXPECT_NE(too_many.error().message.find("1 to 100"), std::string::npos);
}

TEST(ApiBatchTest, RendersJsonAsItIsTextAsAStringAndBytesAsBase64WithTheirHeaders) {
  const std::vector<ApiSubResponse> responses = {
      {"1", HttpReply{200, R"({"id":"abc"})", "application/json", {}}},
      {"2", HttpReply{429, R"({"error":{}})", "application/json", {{"Retry-After", "3"}}}},
      {"3", HttpReply{200, "# HELP x\n", "text/plain; version=0.0.4", {}}},
      {"4", HttpReply{200, std::string("\x89PNG\0", 5), "image/png", {}}},
      {"5", HttpReply{204, "", "application/json", {}}}};
  EXPECT_EQ(RenderApiBatch(responses),
            R"({"responses":[{"id":"1","status":200,"body":{"id":"abc"}},)"
            R"({"id":"2","status":429,"headers":{"Retry-After":"3"},"body":{"error":{}}},)"
            R"({"id":"3","status":200,"headers":{"Content-Type":"text/plain; version=0.0.4"},)"
            R"("body":"# HELP x\n"},)"
            R"({"id":"4","status":200,"headers":{"Content-Type":"image/png"},)"
            R"("body":"iVBORwA=","body_encoding":"base64"},)"
            R"({"id":"5","status":204}]})");
}

}  // namespace
}  // namespace batchq
