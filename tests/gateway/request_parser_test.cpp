#include "gateway/request_parser.h"

#include <gtest/gtest.h>

namespace batchq {
namespace {

TEST(RequestParserTest, ParsesAJob) {
  auto job = ParseJobRequest(R"({"type":"upper","input":"hi there","priority":3})");
  ASSERT_TRUE(job) << job.error().message;
  EXPECT_EQ(job->type, "upper");
  EXPECT_EQ(job->input, R"("hi there")");
  EXPECT_EQ(job->priority, 3);
}

TEST(RequestParserTest, ReadsRetrySettingsWithinTheirBounds) {
  auto plain = ParseJobRequest(R"({"type":"upper","input":1})");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->max_retries, -1) << "unset: the type's default";
  EXPECT_EQ(plain->retry_backoff_ms, -1);
  auto job = ParseJobRequest(R"({"type":"upper","input":1,"max_retries":0,"retry_backoff_ms":5})");
  ASSERT_TRUE(job) << job.error().message;
  EXPECT_EQ(job->max_retries, 0);
  EXPECT_EQ(job->retry_backoff_ms, 5);
  for (const char* bad : {R"({"type":"upper","input":1,"max_retries":21})",
                          R"({"type":"upper","input":1,"max_retries":-1})",
                          R"({"type":"upper","input":1,"max_retries":"3"})",
                          R"({"type":"upper","input":1,"retry_backoff_ms":0})",
                          R"({"type":"upper","input":1,"retry_backoff_ms":3600001})"}) {
    auto refused = ParseJobRequest(bad);
    ASSERT_FALSE(refused) << bad;
    EXPECT_EQ(refused.error().code, ErrorCode::kInvalidRequest);
  }
}

TEST(RequestParserTest, ACallbackUrlMustBeAnHttpUrlWithNothingHidden) {
  auto job = ParseJobRequest(
      R"({"type":"upper","input":1,"callback_url":"https://hooks.example.com/in?k=1"})");
  ASSERT_TRUE(job) << job.error().message;
  EXPECT_EQ(job->callback_url, "https://hooks.example.com/in?k=1");
  for (const char* bad : {R"({"type":"upper","input":1,"callback_url":5})",
                          R"({"type":"upper","input":1,"callback_url":"file:///etc/passwd"})",
                          R"({"type":"upper","input":1,"callback_url":"http://u@evil/"})"}) {
    auto refused = ParseJobRequest(bad);
    ASSERT_FALSE(refused) << bad;
    EXPECT_EQ(refused.error().code, ErrorCode::kInvalidRequest);
    EXPECT_NE(refused.error().message.find("callback_url"), std::string::npos);
  }
}

TEST(RequestParserTest, KeepsAnyJsonInputAsCompactJson) {
  auto job = ParseJobRequest(R"({"type":"mlp", "input": [1, 2.5, {"a" : null}] })");
  ASSERT_TRUE(job);
  EXPECT_EQ(job->input, R"([1,2.5,{"a":null}])");
}

TEST(RequestParserTest, IgnoresUnknownFields) {
  EXPECT_TRUE(ParseJobRequest(R"({"type":"upper","input":"x","future":1})"));
}

TEST(RequestParserTest, MalformedJsonIsInvalidJson) {
  for (const char* body : {"", "{", "{\"type\":", "not json", "{\"type\":\"upper\",}"}) {
    auto job = ParseJobRequest(body);
    ASSERT_FALSE(job) << body;
    EXPECT_EQ(job.error().code, ErrorCode::kInvalidJson) << body;
  }
}

TEST(RequestParserTest, WrongShapesAreInvalidRequest) {
  for (const char* body :
       {R"([1,2])", R"("upper")", R"({"input":"x"})", R"({"type":"upper"})",
        R"({"type":5,"input":"x"})", R"({"type":"","input":"x"})",
        R"({"type":"has space","input":"x"})", R"({"type":"upper","input":"x","priority":"1"})",
        R"({"type":"upper","input":"x","priority":1.5})",
        R"({"type":"upper","input":"x","priority":100000})"}) {
    auto job = ParseJobRequest(body);
    ASSERT_FALSE(job) << body;
    EXPECT_EQ(job.error().code, ErrorCode::kInvalidRequest) << body;
  }
}

TEST(RequestParserTest, BatchKeepsEachItemsOwnOutcome) {
  auto batch = ParseBatchRequest(
      R"({"jobs":[{"type":"upper","input":"a"},{"type":"upper"},7,{"type":"sleep","input":{}}]})",
      10);
  ASSERT_TRUE(batch);
  ASSERT_EQ(batch->size(), 4u);
  EXPECT_TRUE((*batch)[0]);
  EXPECT_FALSE((*batch)[1]);
  EXPECT_EQ((*batch)[1].error().code, ErrorCode::kInvalidRequest);
  EXPECT_FALSE((*batch)[2]);
  ASSERT_TRUE((*batch)[3]);
  EXPECT_EQ((*batch)[3]->input, "{}");
}

TEST(RequestParserTest, BatchOuterErrors) {
  EXPECT_EQ(ParseBatchRequest("{", 10).error().code, ErrorCode::kInvalidJson);
  EXPECT_EQ(ParseBatchRequest(R"({"jobs":{}})", 10).error().code, ErrorCode::kInvalidRequest);
  EXPECT_EQ(ParseBatchRequest(R"({"jobs":[]})", 10).error().code, ErrorCode::kInvalidRequest);
  EXPECT_EQ(ParseBatchRequest(R"({"jobs":[1,2,3]})", 2).error().code, ErrorCode::kInvalidRequest);
}

}  // namespace
}  // namespace batchq
