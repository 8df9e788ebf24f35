#pragma once
// One job's server-sent event stream (GET /v1/jobs/{id}/events), as the hub's watcher:
// the record read once it is registered, then the notices, each step sent once and in
// order (JobEventCursor), whichever thread sees it first; the stream ends after the
// terminal event. Thread-safe: the hub's thread and the route's call it at once.

#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "common/http_types.h"
#include "gateway/job_event_hub.h"
#include "gateway/job_events.h"

namespace batchq {

// The comment a quiet stream gets every heartbeat interval.
inline constexpr std::string_view kHeartbeatComment = "heartbeat";

class JobStreamWatcher : public JobEventHub::Watcher {
 public:
  // `after`: the client's Last-Event-ID, if it resumes.
  JobStreamWatcher(std::shared_ptr<ReplyStream> stream, std::optional<JobEventKey> after);

  // The record as read after the watcher was registered (null: unreadable): everything
  // it shows that the client has not seen, then the notices that came meanwhile. Until
  // it is called, notices are held: one may overtake the read (it came from a later
  // write, or the read's answer is still on its way), and the client must see the steps
  // in order.
  bool OnRecord(const JobRecord* record);
  bool OnChange(const JobChange& change, const JobRecord* record) override;
  bool OnGap(const JobRecord* record) override;
  bool OnHeartbeat() override;

 private:
  struct Early {
    JobChange change;
    std::optional<JobRecord> record;
  };

  std::vector<JobEvent> EventsOf(const JobChange& change, const JobRecord* record);
  bool SendLocked(std::vector<JobEvent> events);

  std::mutex mutex_;
  const std::shared_ptr<ReplyStream> stream_;
  JobEventCursor cursor_;
  bool replayed_ = false;     // OnRecord ran: notices go out as they come
  std::vector<Early> early_;  // notices that came before it
};

}  // namespace batchq
