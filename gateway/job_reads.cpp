#include "gateway/job_reads.h"

#include <algorithm>
#include <atomic>
#include <charconv>

#include <fmt/format.h>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/job_limits.h"
#include "common/job_status.h"
#include "gateway/api_reply.h"
#include "gateway/job_json.h"
#include "gateway/query_params.h"

namespace batchq {

namespace asio = boost::asio;

struct JobReads::WaitState {
  WaitState(asio::io_context& io, std::string job_id, Caller who, Respond done)
      : executor(io.get_executor()),
        timer(executor),
        id(std::move(job_id)),
        caller(std::move(who)),
        respond(std::move(done)) {}
  // The one thread that runs `io`: every decision about the wait is taken there, one at
  // a time, so no strand is needed (IoThreads runs each context on one thread).
  asio::io_context::executor_type executor;
  asio::steady_timer timer;
  std::string id;
  Caller caller;
  Respond respond;
  // A submit's 202, answered instead of the job when it has not ended (or cannot be
  // read) when the wait is over; unset for a GET, which answers the job as it is.
  std::optional<HttpReply> unfinished;
  std::atomic<std::uint64_t> token{0};  // set by the I/O thread after registering
  bool finished = false;                // touched on `executor` only
  std::shared_ptr<EarlyWatch> watch;    // an early waiter, released when the wait ends
};

struct JobReads::BatchWaitState {
  BatchWaitState(asio::io_context& io, std::vector<SubmitItemOutcome> outcomes, Caller who,
                 HttpReply accepted, Respond done)
      : executor(io.get_executor()),
        timer(executor),
        items(std::move(outcomes)),
        caller(std::move(who)),
        unfinished(std::move(accepted)),
        respond(std::move(done)) {
    for (const auto& item : items) {
      if (!item.id.empty()) ids.push_back(item.id);
    }
    tokens.assign(ids.size(), 0);
    ended.assign(ids.size(), false);
    carried.assign(ids.size(), nullptr);
  }
  asio::io_context::executor_type executor;  // as WaitState's
  asio::steady_timer timer;
  std::vector<SubmitItemOutcome> items;
  std::vector<std::string> ids;  // the accepted items' jobs, in order
  Caller caller;
  HttpReply unfinished;  // the 202, answered when a job has not ended in time
  Respond respond;
  // Everything below is touched on `executor` only.
  std::vector<std::uint64_t> tokens;
  std::vector<std::shared_ptr<EarlyWatch>> watches;  // early waiters, one per id, or none
  std::vector<bool> ended;
  // The ended records the notices carried, by job; null where a notice carried none.
  std::vector<std::shared_ptr<const JobRecord>> carried;
  std::size_t ended_count = 0;
  bool finished = false;
};

JobReads::JobReads(IoThreads& io, Options options, JobStorePort& store, BrokerPort& broker,
                   CompletionWaiters& waiters)
    : io_(io), options_(options), store_(store), broker_(broker), waiters_(waiters) {}

HttpReply JobReads::JobReply(const SeenRecord& record, const Caller& caller) {
  if (!record) return Unavailable(record.error());
  if (*record == nullptr || !caller.MaySee(**record)) return ErrorReply(ErrorCode::kNotFound);
  return JsonReply(200, RenderJob(**record));
}

HttpReply JobReads::FinalReply(WaitState& state, const SeenRecord& record) {
  if (!state.unfinished) return JobReply(record, state.caller);
  if (!record || !*record || !IsTerminal((*record)->status)) return std::move(*state.unfinished);
  HttpReply ended = JobReply(record, state.caller);
  for (const auto& header : state.unfinished->headers) {
    if (header.first == "Location") ended.headers.push_back(header);
  }
  return ended;
}

namespace {

using SeenRecord = JobReads::SeenRecord;

// A record as the caller may see it: another tenant's job reads as no job. Reads and
// carried records both pass through here.
SeenRecord SeenAs(const JobRecord& record, const Caller& caller) {
  return caller.MaySee(record) ? &record : nullptr;
}

// The one record of a read of one id, as the caller may see it: a view into `records`.
SeenRecord OneVisible(const JobReadPort::Records& records, const Caller& caller) {
  if (!records) return std::unexpected(records.error());
  if (records->empty() || !records->front()) return nullptr;
  return SeenAs(*records->front(), caller);
}

// Views of a read's records, null where one is missing; none when the read failed.
std::vector<const JobRecord*> ViewsOf(const JobReadPort::Records& records) {
  std::vector<const JobRecord*> views;
  if (!records) return views;
  views.reserve(records->size());
  for (const auto& record : *records) views.push_back(record ? &*record : nullptr);
  return views;
}

// A view of one read's answer, for JobReply.
SeenRecord ViewOf(const Result<std::optional<JobRecord>>& record) {
  if (!record) return std::unexpected(record.error());
  return *record ? &**record : nullptr;
}

}  // namespace

Result<std::optional<JobRecord>> JobReads::Visible(std::string_view id, const Caller& caller) {
  auto record = store_.Get(id);
  if (record && *record && !caller.MaySee(**record)) return std::optional<JobRecord>();
  return record;
}

void JobReads::Get(std::string id, std::string_view query, const Caller& caller, Respond respond) {
  auto wait = QueryInt(query, "wait_ms");
  if (!wait) return respond(ErrorReply(wait.error()));
  const auto wait_for = std::min(std::chrono::milliseconds(wait->value_or(0)), options_.max_wait);
  Wait(std::make_shared<WaitState>(io_.Here(), std::move(id), caller, std::move(respond)),
       wait_for);
}

void JobReads::AwaitEnd(std::string id, std::chrono::milliseconds wait, const Caller& caller,
                        HttpReply accepted, Respond respond, std::shared_ptr<EarlyWatch> watch) {
  auto state = std::make_shared<WaitState>(io_.Here(), std::move(id), caller, std::move(respond));
  state->unfinished = std::move(accepted);
  const auto wait_for = std::min(wait, options_.max_wait);
  if (watch && wait_for.count() > 0) return WaitWatched(std::move(state), wait_for, watch);
  Wait(std::move(state), wait_for);
}

void JobReads::WaitWatched(std::shared_ptr<WaitState> state, std::chrono::milliseconds wait_for,
                           std::shared_ptr<EarlyWatch> watch) {
  // The timer is set on the wait's thread before the end can be handled there.
  asio::post(state->executor, [this, state, wait_for, watch]() mutable {
    if (state->finished) return;
    state->watch = watch;
    ArmTimer(state, wait_for);
    // Weak: the state holds the watch, whose callback must not keep the state alive.
    watch->OnEnd([this, weak = std::weak_ptr<WaitState>(state)](auto record) {
      if (auto waiting = weak.lock()) {
        asio::post(waiting->executor,
                   [this, waiting, record = std::move(record)] { FinishWait(waiting, record); });
      }
    });
  });
}

void JobReads::ReadRecords(std::vector<std::string> ids, JobReadPort::Done done) {
  if (options_.group_read == nullptr) return done(store_.GetMany(ids));
  // The port takes `done` only when it takes the read.
  auto shared = std::make_shared<JobReadPort::Done>(std::move(done));
  if (!options_.group_read->Read(std::move(ids), [shared](JobReadPort::Records records) {
        (*shared)(std::move(records));
      })) {
    (*shared)(Fail(ErrorCode::kOverloaded,
                   "The gateway holds as many reads waiting for Redis as it may; retry shortly."));
  }
}

void JobReads::ArmTimer(const std::shared_ptr<WaitState>& state,
                        std::chrono::milliseconds wait_for) {
  state->timer.expires_after(wait_for);
  state->timer.async_wait([this, state](boost::system::error_code ec) {
    if (ec != asio::error::operation_aborted) FinishWait(state);
  });
}

void JobReads::Wait(std::shared_ptr<WaitState> state, std::chrono::milliseconds wait_for) {
  // Succeeded here a moment ago: the record its notice carried is what a read would find,
  // and it will not change.
  if (options_.endings != nullptr) {
    if (auto ended = options_.endings->Find(state->id, std::chrono::steady_clock::now())) {
      if (options_.reads_from_endings != nullptr) options_.reads_from_endings->Increment();
      return asio::post(state->executor, [state, ended = std::move(ended)] {
        state->finished = true;
        state->respond(FinalReply(*state, SeenAs(*ended, state->caller)));
      });
    }
  }
  if (wait_for.count() > 0) {
    // Registered before the first read, so a completion between the two is not missed.
    state->token = waiters_.Add(state->id, [this, state](auto record) {
      asio::post(state->executor,
                 [this, state, record = std::move(record)] { FinishWait(state, record); });
    });
    // Created here and not ended since: a read could only find it queued or running.
    // Asked after Add, so its end cannot fall between the two unseen.
    if (const auto tenant = waiters_.ExpectedTenant(state->id);
        tenant && state->caller.MaySeeTenant(*tenant)) {
      if (options_.first_reads_skipped != nullptr) options_.first_reads_skipped->Increment();
      asio::post(state->executor, [this, state, wait_for] {
        if (!state->finished) ArmTimer(state, wait_for);
      });
      return;
    }
    if (options_.first_reads_made != nullptr) options_.first_reads_made->Increment();
  }
  ReadRecords({state->id}, [this, state, wait_for](JobReadPort::Records records) {
    asio::post(state->executor, [this, state, wait_for, records = std::move(records)] {
      if (state->finished) return;  // a notice answered it already
      const SeenRecord record = OneVisible(records, state->caller);
      const bool waiting =
          record && *record && wait_for.count() > 0 && !IsTerminal((*record)->status);
      if (waiting) return ArmTimer(state, wait_for);
      state->finished = true;
      if (const auto token = state->token.load(); token != 0) waiters_.Remove(token);
      state->respond(FinalReply(*state, record));
    });
  });
}

void JobReads::FinishWait(const std::shared_ptr<WaitState>& state,
                          const std::shared_ptr<const JobRecord>& ended) {
  if (state->finished) return;
  state->finished = true;
  waiters_.Remove(state->token.load());
  state->watch.reset();
  state->timer.cancel();
  // The notice carried the ended record: nothing to read.
  if (ended) return state->respond(FinalReply(*state, SeenAs(*ended, state->caller)));
  ReadRecords({state->id}, [state](JobReadPort::Records records) {
    asio::post(state->executor, [state, records = std::move(records)] {
      state->respond(FinalReply(*state, OneVisible(records, state->caller)));
    });
  });
}

void JobReads::AwaitBatchEnd(std::vector<SubmitItemOutcome> items, std::chrono::milliseconds wait,
                             const Caller& caller, HttpReply accepted, Respond respond,
                             std::vector<std::shared_ptr<EarlyWatch>> watches) {
  auto state = std::make_shared<BatchWaitState>(io_.Here(), std::move(items), caller,
                                                std::move(accepted), std::move(respond));
  wait = std::min(wait, options_.max_wait);
  if (!watches.empty() && watches.size() == state->ids.size()) {
    return asio::post(state->executor, [this, state, wait, watches = std::move(watches)] {
      StartWatchedBatchWait(state, wait, watches);
    });
  }
  // Registration runs on the wait's thread too, so no notice is handled before every token
  // is kept.
  asio::post(state->executor, [this, state, wait] { StartBatchWait(state, wait); });
}

void JobReads::StartWatchedBatchWait(const std::shared_ptr<BatchWaitState>& state,
                                     std::chrono::milliseconds wait,
                                     std::vector<std::shared_ptr<EarlyWatch>> watches) {
  state->watches = std::move(watches);
  state->timer.expires_after(wait);
  state->timer.async_wait([this, state](boost::system::error_code ec) {
    if (ec != asio::error::operation_aborted) FinishBatchWait(state);
  });
  // Weak: the state holds the watches, whose callbacks must not keep it alive.
  const std::weak_ptr<BatchWaitState> weak = state;
  for (std::size_t i = 0; i < state->watches.size(); ++i) {
    state->watches[i]->OnEnd([this, weak, i](auto record) {
      if (auto waiting = weak.lock()) {
        asio::post(waiting->executor, [this, waiting, i, record = std::move(record)] {
          OnBatchNotice(waiting, i, record);
        });
      }
    });
  }
}

void JobReads::StartBatchWait(const std::shared_ptr<BatchWaitState>& state,
                              std::chrono::milliseconds wait) {
  for (std::size_t i = 0; i < state->ids.size(); ++i) {
    state->tokens[i] = waiters_.Add(state->ids[i], [this, state, i](auto record) {
      asio::post(state->executor,
                 [this, state, i, record = std::move(record)] { OnBatchNotice(state, i, record); });
    });
  }
  // Read after registering, so an end between the two is not missed.
  ReadRecords(state->ids, [this, state, wait](JobReadPort::Records records) {
    asio::post(state->executor, [this, state, wait, records = std::move(records)] {
      ContinueBatchWait(state, wait, records);
    });
  });
}

void JobReads::ContinueBatchWait(const std::shared_ptr<BatchWaitState>& state,
                                 std::chrono::milliseconds wait,
                                 const JobReadPort::Records& records) {
  if (state->finished) return;  // every job's notice came first
  if (records) {
    for (std::size_t i = 0; i < records->size(); ++i) {
      const auto& record = (*records)[i];
      if (record && IsTerminal(record->status) && !state->ended[i]) {
        state->ended[i] = true;
        ++state->ended_count;
      }
    }
  }
  if (!records || state->ended_count == state->ids.size()) {
    state->finished = true;
    for (const auto token : state->tokens) waiters_.Remove(token);
    return state->respond(BatchReply(*state, ViewsOf(records)));
  }
  state->timer.expires_after(wait);
  state->timer.async_wait([this, state](boost::system::error_code ec) {
    if (ec != asio::error::operation_aborted) FinishBatchWait(state);
  });
}

void JobReads::OnBatchNotice(const std::shared_ptr<BatchWaitState>& state, std::size_t job,
                             std::shared_ptr<const JobRecord> record) {
  if (state->finished || state->ended[job]) return;
  state->ended[job] = true;
  state->carried[job] = std::move(record);
  if (++state->ended_count == state->ids.size()) FinishBatchWait(state);
}

void JobReads::FinishBatchWait(const std::shared_ptr<BatchWaitState>& state) {
  if (state->finished) return;
  state->finished = true;
  for (const auto token : state->tokens) waiters_.Remove(token);
  state->watches.clear();
  state->timer.cancel();
  // Every notice carried its job's ended record: nothing to read.
  if (std::ranges::all_of(state->carried, [](const auto& record) { return record != nullptr; })) {
    std::vector<const JobRecord*> records;
    records.reserve(state->carried.size());
    for (const auto& record : state->carried) records.push_back(record.get());
    return state->respond(BatchReply(*state, records));
  }
  ReadRecords(state->ids, [state](JobReadPort::Records records) {
    asio::post(state->executor, [state, records = std::move(records)] {
      state->respond(BatchReply(*state, ViewsOf(records)));
    });
  });
}

HttpReply JobReads::BatchReply(BatchWaitState& state, std::span<const JobRecord* const> records) {
  if (records.size() != state.ids.size()) return std::move(state.unfinished);
  for (const JobRecord* record : records) {
    if (record == nullptr || !IsTerminal(record->status) || !state.caller.MaySee(*record)) {
      return std::move(state.unfinished);
    }
  }
  std::vector<SubmitItemView> views(state.items.size());
  std::size_t next = 0;
  for (std::size_t i = 0; i < views.size(); ++i) {
    if (state.items[i].id.empty()) {
      views[i].error = state.items[i].error;
      views[i].retry_after_ms = state.items[i].retry_after_ms;
    } else {
      views[i].ended = records[next++];
    }
  }
  return JsonReply(200, RenderSubmitResults(views));
}

void JobReads::List(std::string_view query, const Caller& caller, Respond respond) {
  auto limit = QueryInt(query, "limit");
  if (!limit) return respond(ErrorReply(limit.error()));
  const std::int64_t wanted = limit->value_or(kDefaultListLimit);
  if (wanted < 1 || wanted > kMaxListLimit) {
    return respond(ErrorReply(ErrorCode::kInvalidRequest,
                              fmt::format("'limit' must be between 1 and {}.", kMaxListLimit)));
  }
  std::string_view tenant = caller.tenant;
  if (caller.admin()) {
    tenant = QueryText(query, "tenant").value_or(std::string_view{});
    if (!tenant.empty() && !IsValidTenant(tenant)) {
      return respond(ErrorReply(ErrorCode::kInvalidRequest, "'tenant' is not a tenant name."));
    }
  }
  auto filter = ParseJobListQuery(query, tenant, static_cast<std::size_t>(wanted));
  if (!filter) return respond(ErrorReply(filter.error()));
  auto page = store_.RecentSummaries(*filter);
  if (!page) return respond(Unavailable(page.error()));
  respond(JsonReply(200, RenderJobList(*page)));
}

void JobReads::GetResult(const std::string& id, const Caller& caller, Respond respond) {
  auto record = Visible(id, caller);
  if (!record || !*record) return respond(JobReply(ViewOf(record), caller));
  const JobRecord& job = **record;
  if (job.status != JobStatus::kSucceeded) {
    return respond(ErrorReply(ErrorCode::kNoResult, fmt::format("The job is {} and has no result.",
                                                                ToString(job.status))));
  }
  if (job.result_type.empty()) return respond(JsonReply(200, job.result));
  auto blob = store_.GetBlob(id);
  if (!blob) return respond(Unavailable(blob.error()));
  if (!*blob) return respond(ErrorReply(ErrorCode::kResultExpired));
  respond(HttpReply{200, std::move(**blob), job.result_type, {}});
}

void JobReads::Cancel(const std::string& id, const Caller& caller, Respond respond) {
  // The tenant is checked first; it never changes, so the check cannot go stale.
  if (auto visible = Visible(id, caller); !visible || !*visible) {
    return respond(JobReply(ViewOf(visible), caller));
  }
  JobStatus current = JobStatus::kQueued;
  auto outcome =
      store_.Cancel(id, caller.key_id.empty() ? "unauthenticated" : caller.key_id, &current);
  if (!outcome) return respond(Unavailable(outcome.error()));
  switch (*outcome) {
    case CancelOutcome::kNotFound:
      return respond(ErrorReply(ErrorCode::kNotFound));
    case CancelOutcome::kEnded:
      return respond(ErrorReply(
          ErrorCode::kNotCancellable,
          fmt::format("The job already ended ({}); only queued and running jobs can be cancelled.",
                      ToString(current))));
    case CancelOutcome::kCancelled:
      break;
  }
  // The broker takes a queued job out of its queue, or tells a running job's worker.
  broker_.Cancel(id);
  auto record = store_.Get(id);
  if (record && *record) return respond(JsonReply(200, RenderJob(**record)));
  // Cancelled, but the record could not be read back: say what is known.
  JsonWriter json;
  json.BeginObject().Key("id").String(id).Key("status").String(ToString(JobStatus::kCancelled));
  respond(JsonReply(200, json.EndObject().Take()));
}

}  // namespace batchq
