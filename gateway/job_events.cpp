#include "gateway/job_events.h"

#include <charconv>

#include <fmt/format.h>

#include "common/json_writer.h"
#include "gateway/job_json.h"

namespace batchq {

std::string JobEventKey::ToString() const { return fmt::format("{}.{}", attempt, phase); }

std::optional<JobEventKey> JobEventKey::Parse(std::string_view text) {
  const auto dot = text.find('.');
  if (dot == std::string_view::npos || dot + 2 != text.size()) return std::nullopt;
  JobEventKey key;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + dot, key.attempt);
  if (ec != std::errc() || end != text.data() + dot || key.attempt < 0) return std::nullopt;
  const char phase = text[dot + 1];
  if (phase < '0' || phase > '2') return std::nullopt;
  key.phase = phase - '0';
  return key;
}

namespace {

std::string RenderStep(std::string_view id, JobStatus status, std::int64_t attempt) {
  JsonWriter json;
  json.BeginObject();
  json.Key("id").String(id);
  json.Key("status").String(ToString(status));
  json.Key("attempt").Int(attempt);
  json.EndObject();
  return json.Take();
}

// The attempt a change or record is about: `attempts` counts starts, so a queued job
// waits for attempt attempts + 1, and a job cancelled before it ran ended attempt 1.
JobEventKey KeyOf(JobStatus status, std::int64_t attempts) {
  if (status == JobStatus::kQueued) return {attempts + 1, 0};
  if (status == JobStatus::kRunning) return {attempts, 1};
  return {std::max<std::int64_t>(attempts, 1), 2};
}

}  // namespace

JobEventCursor::JobEventCursor(std::optional<JobEventKey> after) : last_(after) {}

std::optional<JobEvent> JobEventCursor::Take(JobEventKey key, const JobRecord* record,
                                             std::string_view id, JobStatus status) {
  if (last_ && key <= *last_) return std::nullopt;
  last_ = key;
  return JobEvent{key, std::string(ToString(status)),
                  record != nullptr && key.phase == 2 ? RenderJob(*record)
                                                      : RenderStep(id, status, key.attempt)};
}

std::vector<JobEvent> JobEventCursor::FromRecord(const JobRecord& record) {
  std::vector<JobEvent> events;
  const std::int64_t attempts = record.attempts;
  // Queued before its first attempt: a record that is queued again after a lost worker
  // shows only its latest wait.
  const JobEventKey queued =
      record.status == JobStatus::kQueued ? KeyOf(JobStatus::kQueued, attempts) : JobEventKey{1, 0};
  if (auto event = Take(queued, &record, record.id, JobStatus::kQueued)) {
    events.push_back(std::move(*event));
  }
  if (record.status == JobStatus::kQueued) return events;
  if (attempts > 0) {
    if (auto event = Take({attempts, 1}, &record, record.id, JobStatus::kRunning)) {
      events.push_back(std::move(*event));
    }
  }
  if (IsTerminal(record.status)) {
    if (auto event = Take(KeyOf(record.status, attempts), &record, record.id, record.status)) {
      events.push_back(std::move(*event));
    }
  }
  return events;
}

std::optional<JobEvent> JobEventCursor::FromChange(const JobChange& change) {
  return Take(KeyOf(change.status, change.attempt), nullptr, change.id, change.status);
}

std::string RenderChangeData(const JobChange& change) {
  JsonWriter json;
  json.BeginObject();
  json.Key("id").String(change.id);
  json.Key("type").String(change.type);
  json.Key("status").String(ToString(change.status));
  json.Key("attempt").Int(change.attempt);
  json.EndObject();
  return json.Take();
}

}  // namespace batchq
