#include "gateway/job_json.h"

#include "common/json_writer.h"

namespace batchq {
namespace {

// Everything of a job but its result and error, in an object left open.
void WriteJobHead(JsonWriter& json, const JobRecord& record) {
  json.BeginObject();
  json.Key("id").String(record.id);
  json.Key("type").String(record.type);
  if (!record.tenant.empty()) json.Key("tenant").String(record.tenant);
  json.Key("status").String(ToString(record.status));
  json.Key("priority").Int(record.priority);
  json.Key("attempts").Int(record.attempts);
  if (record.timeout_ms > 0) json.Key("timeout_ms").Int(record.timeout_ms);
  json.Key("created_at").String(Rfc3339Text(record.created).view());
  if (record.started.count() > 0) json.Key("started_at").String(Rfc3339Text(record.started).view());
  if (record.finished.count() > 0)
    json.Key("finished_at").String(Rfc3339Text(record.finished).view());
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
  if (!record.cancelled_by.empty()) json.Key("cancelled_by").String(record.cancelled_by);
  if (record.max_retries > 0 || record.retries > 0) {
    json.Key("max_retries").Int(record.max_retries).Key("retries").Int(record.retries);
  }
  if (!record.callback_url.empty()) json.Key("callback_url").String(record.callback_url);
  if (record.status == JobStatus::kQueued && record.retry_at.count() > 0) {
    json.Key("retry_at").String(Rfc3339Text(record.retry_at).view());
  }
}

// The attempts that ended before this one: the record keeps them as JSON lines.
void WriteHistory(JsonWriter& json, std::string_view lines) {
  if (lines.empty()) return;
  json.Key("history").BeginArray();
  while (!lines.empty()) {
    const auto end = lines.find('\n');
    json.Raw(lines.substr(0, end));
    lines = end == std::string_view::npos ? std::string_view{} : lines.substr(end + 1);
  }
  json.EndArray();
}

}  // namespace

std::string RenderJob(const JobRecord& record) {
  // A finished job's fields take about 600 bytes besides these four.
  constexpr std::size_t kFieldsBytes = 768;
  JsonWriter json(kFieldsBytes + record.result.size() + record.history.size() +
                  record.error_message.size() + record.callback_url.size());
  WriteJobHead(json, record);
  if (record.status == JobStatus::kSucceeded) {
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
  WriteHistory(json, record.history);
  json.EndObject();
  return json.Take();
}

std::string RenderJobList(const JobListPage& page) {
  JsonWriter json;
  json.BeginObject().Key("jobs").BeginArray();
  for (const auto& record : page.jobs) {
    WriteJobHead(json, record);
    if (!record.result_type.empty()) json.Key("result_type").String(record.result_type);
    if (record.status != JobStatus::kSucceeded && !record.error_code.empty()) {
      json.Key("error").BeginObject().Key("code").String(record.error_code).EndObject();
    }
    json.EndObject();
  }
  json.EndArray();
  if (page.next_cursor) json.Key("next_cursor").String(std::to_string(*page.next_cursor));
  json.EndObject();
  return json.Take();
}

namespace {

void WriteQueued(JsonWriter& json, const JobRecord& job) {
  json.BeginObject();
  json.Key("id").String(job.id).Key("status").String(ToString(JobStatus::kQueued));
  json.Key("type").String(job.type);
  json.Key("priority").Int(job.priority).Key("created_at").String(Rfc3339Text(job.created).view());
  json.EndObject();
}

void WriteTypeStatus(JsonWriter& json, const wire::TypeStatus& type) {
  json.BeginObject();
  json.Key("name").String(type.name);
  json.Key("max_batch_size").Int(type.max_batch_size);
  json.Key("max_delay_us").Int(type.max_delay_us);
  json.Key("max_queue").Int(type.max_queue);
  json.Key("max_queue_wait_ms").Int(type.max_queue_wait_ms);
  if (type.projected_wait_us >= 0) {
    json.Key("projected_wait_us").Int(type.projected_wait_us);
  } else {
    json.Key("projected_wait_us").Null();
  }
  json.Key("admitting").Bool(type.refusing_retry_after_ms == 0);
  json.Key("queue_depth").Int(static_cast<std::int64_t>(type.queue_depth));
  json.Key("in_flight_batches").Int(type.in_flight_batches);
  json.Key("workers").Int(type.workers);
  json.Key("oldest_wait_us").Int(type.oldest_wait_us);
  json.Key("adaptive").Bool(type.adaptive);
  json.Key("preferred_batch_sizes").BeginArray();
  for (const auto size : type.preferred_batch_sizes) json.Int(size);
  json.EndArray();
  json.Key("max_batch_bytes").Int(static_cast<std::int64_t>(type.max_batch_bytes));
  json.Key("default_timeout_ms").Int(type.default_timeout_ms);
  json.Key("max_retries").Int(type.max_retries);
  json.Key("retry_backoff_ms").Int(type.retry_backoff_ms);
  json.Key("learned_cost").BeginObject();
  json.Key("fixed_us").Double(type.cost_fixed_us).Key("per_item_us").Double(type.cost_per_item_us);
  json.EndObject();
  json.Key("arrivals_per_s").Double(type.arrivals_per_s);
  json.Key("dispatched_per_s").Double(type.dispatched_per_s);
  json.Key("batch_sizes").BeginArray();
  for (const auto count : type.batch_sizes) json.Int(static_cast<std::int64_t>(count));
  json.EndArray();
  json.EndObject();
}

void WriteWorkerStatus(JsonWriter& json, const wire::WorkerStatus& worker) {
  json.BeginObject();
  json.Key("name").String(worker.name);
  json.Key("types").BeginArray();
  for (const auto& type : worker.types) json.String(type);
  json.EndArray();
  json.Key("backend").String(worker.backend).Key("device").String(worker.device);
  json.Key("device_memory_bytes").Int(static_cast<std::int64_t>(worker.device_memory_bytes));
  json.Key("credits").Int(worker.credits).Key("free_credits").Int(worker.free_credits);
  json.Key("batches_done").Int(static_cast<std::int64_t>(worker.batches_done));
  json.EndObject();
}

}  // namespace

std::string RenderQueued(const JobRecord& job) {
  // Its fixed part, the longest priority and the time take 112 bytes: reserved, since
  // grown from empty the answer was copied four times.
  constexpr std::size_t kFixedBytes = 112;
  JsonWriter json(kFixedBytes + job.id.size() + job.type.size());
  WriteQueued(json, job);
  return json.Take();
}

std::string RenderSubmitResults(std::span<const SubmitItemView> items) {
  JsonWriter json;
  json.BeginObject().Key("jobs").BeginArray();
  for (const auto& item : items) {
    if (item.ended) {
      json.Raw(RenderJob(*item.ended));
      continue;
    }
    if (item.queued) {
      WriteQueued(json, *item.queued);
      continue;
    }
    json.BeginObject().Key("error").BeginObject();
    json.Key("code").String(Name(item.error.code)).Key("message").String(item.error.message);
    json.EndObject();
    if (item.retry_after_ms > 0) json.Key("retry_after_ms").Int(item.retry_after_ms);
    json.EndObject();
  }
  json.EndArray().EndObject();
  return json.Take();
}

std::string RenderTypes(const wire::Status& status) {
  JsonWriter json;
  json.BeginObject().Key("types").BeginArray();
  for (const auto& type : status.types) WriteTypeStatus(json, type);
  json.EndArray().Key("workers").BeginArray();
  for (const auto& worker : status.workers) WriteWorkerStatus(json, worker);
  json.EndArray().EndObject();
  return json.Take();
}

std::string RenderReadiness(bool broker_ok, bool redis_ok,
                            const std::optional<std::string>& storage_full) {
  JsonWriter json;
  json.BeginObject();
  json.Key("status").String(broker_ok && redis_ok && !storage_full ? "ready" : "not_ready");
  json.Key("broker").Bool(broker_ok).Key("redis").Bool(redis_ok);
  json.Key("storage").String(storage_full ? "full" : "ok");
  if (storage_full) {
    json.Key("error").BeginObject();
    json.Key("code").String(Name(ErrorCode::kStorageFull)).Key("message").String(*storage_full);
    json.EndObject();
  }
  json.EndObject();
  return json.Take();
}

}  // namespace batchq
