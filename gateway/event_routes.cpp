#include "gateway/event_routes.h"

#include <mutex>

#include <fmt/format.h>

#include "common/api_key.h"
#include "gateway/api_reply.h"
#include "gateway/job_events.h"
#include "gateway/job_stream_watcher.h"
#include "gateway/query_params.h"
#include "gateway/server_sent_event.h"

namespace batchq {
namespace {

constexpr std::string_view kEventStream = "text/event-stream";

HttpReply StreamReply(std::function<void(std::shared_ptr<ReplyStream>)> on_stream) {
  HttpReply reply{200, {}, std::string(kEventStream), {{"X-Accel-Buffering", "no"}}};
  reply.stream = std::move(on_stream);
  return reply;
}

// A tenant's stream (or every tenant's): each change that passes the filters.
class TenantStreamWatcher : public JobEventHub::Watcher {
 public:
  TenantStreamWatcher(std::shared_ptr<ReplyStream> stream, std::optional<JobStatus> status,
                      std::string type)
      : stream_(std::move(stream)), status_(status), type_(std::move(type)) {}

  bool OnChange(const JobChange& change, const JobRecord*) override {
    if ((status_ && change.status != *status_) || (!type_.empty() && change.type != type_)) {
      return !stream_->closed();
    }
    return stream_->Send(
        FormatServerSentEvent({}, ToString(change.status), RenderChangeData(change)));
  }
  // The client cannot resume a tenant stream: it is told, and can list what it missed.
  bool OnGap(const JobRecord*) override {
    return stream_->Send(FormatServerSentEvent({}, "gap", R"({"missed":"unknown"})"));
  }
  bool OnHeartbeat() override { return stream_->Send(FormatServerSentComment(kHeartbeatComment)); }

 private:
  const std::shared_ptr<ReplyStream> stream_;
  const std::optional<JobStatus> status_;
  const std::string type_;
};

}  // namespace

EventRoutes::EventRoutes(Options options, JobStorePort& store, JobEventHub& hub)
    : options_(options), store_(store), hub_(hub) {}

std::optional<HttpReply> EventRoutes::OverLimit() const {
  if (hub_.watchers() < options_.max_streams) return std::nullopt;
  HttpReply reply = ErrorReply(
      ErrorCode::kOverloaded,
      fmt::format("This gateway holds its limit of {} event streams; retry shortly or poll.",
                  options_.max_streams));
  reply.headers.emplace_back("Retry-After", "1");
  return reply;
}

void EventRoutes::JobEvents(const std::string& id, std::string_view last_event_id,
                            const Caller& caller, Respond respond) {
  auto record = store_.Get(id);
  if (!record) return respond(Unavailable(record.error()));
  if (!*record || !caller.MaySee(**record)) return respond(ErrorReply(ErrorCode::kNotFound));
  // A header we did not write (or none) starts from the job's first event.
  const auto after = JobEventKey::Parse(last_event_id);
  if (JobEventCursor probe(after); probe.FromRecord(**record).empty() && probe.ended()) {
    // The client saw the end: 204 is what stops an EventSource from reconnecting.
    return respond(HttpReply{204, {}, std::string(kEventStream), {}});
  }
  if (auto refused = OverLimit()) return respond(std::move(*refused));
  AfterProgress([this, id, after, respond = std::move(respond)] { JobStream(id, after, respond); });
}

void EventRoutes::JobStream(const std::string& id, const std::optional<JobEventKey>& after,
                            const Respond& respond) {
  respond(StreamReply([this, id, after,
                       retry = options_.reconnect_delay](std::shared_ptr<ReplyStream> stream) {
    stream->Send(FormatServerSentRetry(retry));
    auto watcher = std::make_shared<JobStreamWatcher>(stream, after);
    // Watch first, then read: a change between the two is in the record or in a notice
    // (held until the record's steps went out), and the cursor sends it once either way.
    hub_.WatchJob(id, watcher);
    auto read = [this, id, stream, watcher](bool may_read) {
      Result<std::optional<JobRecord>> now = Fail(ErrorCode::kOverloaded);
      if (may_read) now = store_.Get(id);
      if (!now) {
        stream->Send(FormatServerSentComment("the job could not be read; waiting for its changes"));
      }
      watcher->OnRecord(now && *now ? &**now : nullptr);
    };
    if (options_.blocking == nullptr) return read(true);
    if (!options_.blocking->Run([read] { read(true); })) read(false);
  }));
}

void EventRoutes::TenantEvents(const HttpRequestIn& request, const Caller& caller,
                               Respond respond) {
  std::string tenant = caller.tenant;
  if (caller.admin()) {
    if (const auto named = QueryText(request.query, "tenant")) {
      if (*named != "*" && !IsValidTenant(*named)) {
        return respond(ErrorReply(ErrorCode::kInvalidRequest,
                                  "'tenant' is not a tenant name (or * for every tenant)."));
      }
      tenant = std::string(*named);
    }
  }
  auto filter = ParseJobListQuery(request.query, tenant, 0);
  if (!filter) return respond(ErrorReply(filter.error()));
  if (auto refused = OverLimit()) return respond(std::move(*refused));
  AfterProgress([this, tenant, status = filter->status, type = std::string(filter->type),
                 respond = std::move(respond)] {
    respond(StreamReply([this, tenant, status, type,
                         retry = options_.reconnect_delay](std::shared_ptr<ReplyStream> stream) {
      stream->Send(FormatServerSentRetry(retry));
      hub_.WatchTenant(tenant, std::make_shared<TenantStreamWatcher>(stream, status, type));
    }));
  });
}

void EventRoutes::AfterProgress(std::function<void()> start) {
  ProgressDemand* const demand = options_.progress;
  // Already flowing (or refused), Await only notes the demand and returns: no wait on an
  // I/O thread.
  if (demand == nullptr ||
      demand->Await(ProgressDemand::Clock::now(), {}) != ProgressDemand::Answer::kNotYet) {
    return start();
  }
  auto wait_then_start = [demand, start, wait = options_.progress_wait] {
    demand->Await(ProgressDemand::Clock::now(), wait);
    start();
  };
  // A job's stream opens on a blocking thread already (it read the job): it waits there.
  if (options_.blocking != nullptr && options_.blocking->OnItsThread()) return wait_then_start();
  if (options_.blocking == nullptr || !options_.blocking->Run(wait_then_start)) start();
}

}  // namespace batchq
