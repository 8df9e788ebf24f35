#include "gateway/job_json.h"

#include <gtest/gtest.h>

#include "common/job_change.h"
#include "tests/support/stack.h"

namespace batchq {
namespace {

TEST(JobJsonTest, SucceededJobShowsResultBatchAndTimeline) {
  JobRecord record;
  record.id = "abc";
  record.type = "upper";
  record.status = JobStatus::kSucceeded;
  record.attempts = 1;
  record.created = WallMicros(1'000'000);
  record.started = WallMicros(1'000'500);
  record.launched = WallMicros(1'000'700);
  record.finished = WallMicros(1'001'000);
  record.batch_id = "b-1";
  record.batch_size = 7;
  record.worker = "w0";
  record.result = R"("HI")";
  const std::string body = RenderJob(record);
  EXPECT_EQ(test::JsonString(body, "result"), "HI");
  EXPECT_EQ(test::JsonInt(body, "batch", "size"), 7);
  EXPECT_EQ(test::JsonString(body, "worker"), "w0");
  EXPECT_EQ(test::JsonInt(body, "timeline", "launched_us"), 1'000'700);
  EXPECT_EQ(test::JsonInt(body, "timeline", "finished_us"), 1'001'000);
  EXPECT_EQ(test::JsonString(body, "created_at"), "1970-01-01T00:00:01.000000Z");
  EXPECT_EQ(body.find("\"error\""), std::string::npos);
}

// What a wait answers from a carried record (job_change.h) must be what it answers from
// a read: the view shows no field the carried record leaves out.
TEST(JobJsonTest, TheViewOfACarriedRecordIsTheViewOfTheWholeOne) {
  for (const JobStatus status :
       {JobStatus::kSucceeded, JobStatus::kFailed, JobStatus::kCancelled, JobStatus::kQueued}) {
    JobRecord whole;
    for (const auto& spec : kRecordSchema) {
      const bool number = !std::holds_alternative<std::string JobRecord::*>(spec.member);
      SetField(whole, spec.name, number ? "1700000000000123" : std::string(spec.name) + "-text");
    }
    whole.status = status;
    whole.error_code = "handler_error";
    whole.history = R"({"attempt":1,"status":"failed"})";
    whole.result = R"({"ok":true})";
    JobRecord carried;
    for (const RecordField field : kCarriedFields) {
      SetField(carried, FieldName(field), FieldText(whole, field));
    }
    EXPECT_EQ(RenderJob(carried), RenderJob(whole)) << ToString(status);
    EXPECT_TRUE(carried.input.empty());
  }
}

TEST(JobJsonTest, BinaryResultShowsItsDescriptionTypeAndWhereToFetchIt) {
  JobRecord record;
  record.id = "abc";
  record.type = "render";
  record.status = JobStatus::kSucceeded;
  record.result = R"({"format":"png","width":4,"height":4,"bytes":99})";
  record.result_type = "image/png";
  const std::string body = RenderJob(record);
  EXPECT_EQ(test::JsonInt(body, "result", "bytes"), 99);
  EXPECT_EQ(test::JsonString(body, "result_type"), "image/png");
  EXPECT_EQ(test::JsonString(body, "result_url"), "/v1/jobs/abc/result");
  record.result_type.clear();  // a JSON result has neither
  EXPECT_EQ(RenderJob(record).find("result_url"), std::string::npos);
}

TEST(JobJsonTest, ARetriedJobShowsItsRetriesWhenItIsDueAndEachEarlierAttempt) {
  JobRecord record;
  record.id = "abc";
  record.status = JobStatus::kQueued;
  record.attempts = 2;
  record.max_retries = 3;
  record.retries = 2;
  record.retry_at = WallMicros(2'000'000);
  record.history =
      R"({"attempt":1,"status":"failed","error":{"code":"transient_error","message":"a\nb"}})"
      "\n"
      R"({"attempt":2,"status":"failed","error":{"code":"device_out_of_memory","message":""}})";
  const std::string body = RenderJob(record);
  EXPECT_EQ(test::JsonInt(body, "max_retries"), 3);
  EXPECT_EQ(test::JsonInt(body, "retries"), 2);
  EXPECT_EQ(test::JsonString(body, "retry_at"), "1970-01-01T00:00:02.000000Z");
  EXPECT_NE(body.find(R"("history":[{"attempt":1,)"), std::string::npos) << body;
  EXPECT_NE(body.find(R"(}},{"attempt":2,)"), std::string::npos) << body;
  record.status = JobStatus::kSucceeded;
  EXPECT_EQ(RenderJob(record).find("retry_at"), std::string::npos) << "only while it waits";
  record.history.clear();
  record.max_retries = 0;
  record.retries = 0;
  const std::string plain = RenderJob(record);
  EXPECT_EQ(plain.find("history"), std::string::npos);
  EXPECT_EQ(plain.find("retries"), std::string::npos);
}

TEST(JobJsonTest, FailedJobShowsErrorAndNoResult) {
  JobRecord record;
  record.id = "abc";
  record.status = JobStatus::kFailed;
  record.error_code = "invalid_input";
  record.error_message = "upper takes a \"string\".";
  const std::string body = RenderJob(record);
  EXPECT_EQ(test::JsonString(body, "error", "code"), "invalid_input");
  EXPECT_EQ(test::JsonString(body, "error", "message"), "upper takes a \"string\".");
  EXPECT_EQ(body.find("\"result\""), std::string::npos);
}

TEST(JobJsonTest, ErrorShape) {
  const std::string body = RenderError(ErrorCode::kNotFound, "No such job.");
  EXPECT_EQ(body, R"({"error":{"code":"not_found","message":"No such job."}})");
}

}  // namespace
}  // namespace batchq
