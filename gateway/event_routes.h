#pragma once
// The server-sent-event routes: GET /v1/jobs/{id}/events (one job's changes, then its
// end; Last-Event-ID resumes, see job_events.h) and GET /v1/events (the changes of the
// caller's tenant, live, filtered by ?type= and ?status=; an admin may name another
// ?tenant= or watch every tenant with ?tenant=*). A stream is a JobEventHub watcher and
// a ReplyStream: it holds no thread. Thread-safe: called from any I/O thread.

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "common/http_types.h"
#include "gateway/blocking_calls.h"
#include "gateway/caller.h"
#include "gateway/job_event_hub.h"
#include "gateway/job_events.h"
#include "gateway/job_store_port.h"
#include "gateway/progress_demand.h"

namespace batchq {

class EventRoutes {
 public:
  struct Options {
    // Sent as the streams' "retry:": how long a client waits before it reconnects.
    std::chrono::milliseconds reconnect_delay{2000};
    std::size_t max_streams = 10000;  // open at once in this gateway; past it, 503
    // Where a new stream's read of its job runs; null: on the I/O thread. When it
    // refuses, the stream starts from the job's changes alone, as when Redis is down.
    // Must outlive this object.
    BlockingCalls* blocking = nullptr;
    // When set, a stream starts once the progress channel flows (progress_demand.h);
    // the wait runs on `blocking`. Must outlive this object.
    ProgressDemand* progress = nullptr;
    // How long a new stream waits for it. Longer means Redis is away; the stream then
    // starts anyway, and hears of the gap when the listener is back.
    std::chrono::milliseconds progress_wait{1000};
  };

  // `store` and `hub` must outlive this object.
  EventRoutes(Options options, JobStorePort& store, JobEventHub& hub);

  // `last_event_id`: the request's Last-Event-ID header ("" when not sent).
  void JobEvents(const std::string& id, std::string_view last_event_id, const Caller& caller,
                 Respond respond);
  void TenantEvents(const HttpRequestIn& request, const Caller& caller, Respond respond);

 private:
  // The 503 when this gateway holds its limit of streams.
  std::optional<HttpReply> OverLimit() const;
  // Runs `start` once the progress channel flows, or at once without a demand to wait
  // on; when it cannot wait off the I/O thread, or waits in vain, it starts anyway.
  // Called on one of `blocking`'s threads, it waits there.
  void AfterProgress(std::function<void()> start);
  // Answers with the job's stream: watches the job, then reads it.
  void JobStream(const std::string& id, const std::optional<JobEventKey>& after,
                 const Respond& respond);

  const Options options_;
  JobStorePort& store_;
  JobEventHub& hub_;
};

}  // namespace batchq
