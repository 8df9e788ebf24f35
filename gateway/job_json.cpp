#include "gateway/job_json.h"

#include "common/json_writer.h"

namespace batchq {

std::string RenderJob(const JobRecord& record) {
  JsonWriter json;
  json.BeginObject();
  json.Key("id").String(record.id);
  json.Key("type").String(record.type);
  json.Key("status").String(record.status);
  json.Key("priority").Int(record.priority);
  json.Key("attempts").Int(record.attempts);
  if (record.timeout_ms > 0) json.Key("timeout_ms").Int(record.timeout_ms);
  json.Key("created_at").String(FormatRfc3339(record.created));
  if (record.started.count() > 0) json.Key("started_at").String(FormatRfc3339(record.started));
  if (record.finished.count() > 0) json.Key("finished_at").String(FormatRfc3339(record.finished));
  json.Key("timeline").BeginObject();
  json.Key("created_us").Int(record.created.count());
  if (record.dispatched.count() > 0) json.Key("dispatched_us").Int(record.dispatched.count());
  if (record.started.count() > 0) json.Key("started_us").Int(record.started.count());
  if (record.launched.count() > 0) json.Key("launched_us").Int(record.launched.count());
  if (record.finished.count() > 0) json.Key("finished_us").Int(record.finished.count());
  json.EndObject();
  if (!record.batch_id.empty()) {
    json.Key("batch").BeginObject();
    json.Key("id").String(record.batch_id).Key("size").Int(record.batch_size);
    if (!record.close_reason.empty()) json.Key("close_reason").String(record.close_reason);
    json.EndObject();
    json.Key("worker").String(record.worker);
  }
  if (record.status == "succeeded") {
    json.Key("result").Raw(record.result.empty() ? std::string_view("null") : record.result);
    if (!record.result_type.empty()) {
      // The bytes themselves stay out of the JSON; this is where to fetch them.
      json.Key("result_type").String(record.result_type);
      json.Key("result_url").String("/v1/jobs/" + record.id + "/result");
    }
  } else if (!record.error_code.empty()) {
    json.Key("error").BeginObject();
    json.Key("code").String(record.error_code).Key("message").String(record.error_message);
    json.EndObject();
  }
  json.EndObject();
  return json.Take();
}

}  // namespace batchq
