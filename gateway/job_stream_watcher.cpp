#include "gateway/job_stream_watcher.h"

#include <iterator>

#include "gateway/server_sent_event.h"

namespace batchq {

JobStreamWatcher::JobStreamWatcher(std::shared_ptr<ReplyStream> stream,
                                   std::optional<JobEventKey> after)
    : stream_(std::move(stream)), cursor_(after) {}

bool JobStreamWatcher::OnRecord(const JobRecord* record) {
  std::lock_guard lock(mutex_);
  std::vector<JobEvent> events;
  if (record != nullptr) events = cursor_.FromRecord(*record);
  replayed_ = true;
  for (const Early& early : early_) {
    auto more = EventsOf(early.change, early.record ? &*early.record : nullptr);
    std::move(more.begin(), more.end(), std::back_inserter(events));
  }
  early_.clear();
  return SendLocked(std::move(events));
}

bool JobStreamWatcher::OnChange(const JobChange& change, const JobRecord* record) {
  std::lock_guard lock(mutex_);
  if (!replayed_) {
    early_.push_back(
        Early{change, record != nullptr ? std::optional<JobRecord>(*record) : std::nullopt});
    return !stream_->closed();
  }
  return SendLocked(EventsOf(change, record));
}

bool JobStreamWatcher::OnGap(const JobRecord* record) {
  if (record != nullptr) return OnRecord(record);
  return !stream_->closed();
}

bool JobStreamWatcher::OnHeartbeat() {
  std::lock_guard lock(mutex_);
  return !cursor_.ended() && stream_->Send(FormatServerSentComment(kHeartbeatComment));
}

std::vector<JobEvent> JobStreamWatcher::EventsOf(const JobChange& change, const JobRecord* record) {
  if (record != nullptr && IsTerminal(change.status)) return cursor_.FromRecord(*record);
  std::vector<JobEvent> events;
  if (auto event = cursor_.FromChange(change)) events.push_back(std::move(*event));
  return events;
}

bool JobStreamWatcher::SendLocked(std::vector<JobEvent> events) {
  std::string text;
  for (const JobEvent& event : events) {
    text += FormatServerSentEvent(event.key.ToString(), event.name, event.data);
  }
  if (!text.empty() && !stream_->Send(std::move(text))) return false;
  if (cursor_.ended()) {
    stream_->End();
    return false;
  }
  return !stream_->closed();
}

}  // namespace batchq
