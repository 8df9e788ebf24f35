#pragma once
// What one job's event stream (GET /v1/jobs/{id}/events) sends, worked out from its
// record and from the change channel's notices. Pure; not thread-safe.
//
// Each event is about one attempt: `queued` (before attempt n), `running` (attempt n),
// then one terminal event. Its SSE id, "<n>.<phase>" (phase 0 queued, 1 running, 2
// ended), orders them, so a client that resumes with Last-Event-ID gets exactly the
// events after it: those the record still shows (a job's record says when it was
// queued, when its last attempt started and how it ended) and then live ones.

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/job_change.h"
#include "common/job_record.h"

namespace batchq {

struct JobEventKey {
  std::int64_t attempt = 0;
  int phase = 0;  // 0 queued, 1 running, 2 ended

  auto operator<=>(const JobEventKey&) const = default;
  std::string ToString() const;
  // "<n>.<phase>"; nullopt for anything else (a client's header is not trusted).
  static std::optional<JobEventKey> Parse(std::string_view text);
};

struct JobEvent {
  JobEventKey key;
  std::string name;  // the status
  std::string data;  // JSON: id, status and attempt; the whole job (as GET) when it ended
};

class JobEventCursor {
 public:
  // Events up to and including `after` are not sent again.
  explicit JobEventCursor(std::optional<JobEventKey> after);

  // The record's events after the last one sent, oldest first.
  std::vector<JobEvent> FromRecord(const JobRecord& record);
  // The event of a change, when it comes after the last one sent. A terminal change's
  // event should carry the whole job: read the record and call FromRecord; this one
  // carries only id, status and attempt (for when the record cannot be read).
  std::optional<JobEvent> FromChange(const JobChange& change);
  // The terminal event was sent (or had been, by Last-Event-ID): the stream is over.
  bool ended() const { return last_ && last_->phase == 2; }

 private:
  std::optional<JobEvent> Take(JobEventKey key, const JobRecord* record, std::string_view id,
                               JobStatus status);

  std::optional<JobEventKey> last_;
};

// The event every tenant stream (GET /v1/events) sends for a change: named by its status,
// data {"id","type","status","attempt"}.
std::string RenderChangeData(const JobChange& change);

}  // namespace batchq
