#include "gateway/job_reads.h"

#include <atomic>
#include <charconv>

#include <fmt/format.h>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "gateway/api_reply.h"
#include "gateway/job_json.h"

namespace batchq {

namespace asio = boost::asio;

Result<std::optional<std::int64_t>> QueryInt(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    const std::string_view text = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value < 0) {
      return Fail(ErrorCode::kInvalidRequest,
                  fmt::format("'{}' must be a non-negative integer.", name));
    }
    return std::optional<std::int64_t>(value);
  }
  return std::optional<std::int64_t>();
}

struct JobReads::WaitState {
  WaitState(asio::io_context& io, std::string job_id, Respond done)
      : strand(asio::make_strand(io)),
        timer(strand),
        id(std::move(job_id)),
        respond(std::move(done)) {}
  asio::strand<asio::io_context::executor_type> strand;
  asio::steady_timer timer;
  std::string id;
  Respond respond;
  std::atomic<std::uint64_t> token{0};  // set by the I/O thread after registering
  bool finished = false;                // touched on the strand only
};

JobReads::JobReads(asio::io_context& io, Options options, JobStorePort& store, BrokerPort& broker,
                   CompletionWaiters& waiters)
    : io_(io), options_(options), store_(store), broker_(broker), waiters_(waiters) {}

HttpReply JobReads::JobReply(const Result<std::optional<JobRecord>>& record) {
  if (!record) return Unavailable(record.error());
  if (!*record) return ErrorReply(ErrorCode::kNotFound);
  return JsonReply(200, RenderJob(**record));
}

void JobReads::Get(std::string id, std::string_view query, Respond respond) {
  auto wait = QueryInt(query, "wait_ms");
  if (!wait) return respond(ErrorReply(wait.error()));
  const auto wait_for = std::min(std::chrono::milliseconds(wait->value_or(0)), options_.max_wait);

  auto state = std::make_shared<WaitState>(io_, std::move(id), std::move(respond));
  if (wait_for.count() > 0) {
    // Registered before the first read, so a completion between the two is not missed.
    state->token = waiters_.Add(state->id, [this, state] {
      asio::post(state->strand, [this, state] { FinishWait(state); });
    });
  }
  auto record = store_.Get(state->id);
  asio::post(state->strand, [this, state, wait_for, record = std::move(record)]() mutable {
    if (state->finished) return;  // a notice answered it already
    const bool waiting =
        record && *record && wait_for.count() > 0 && !IsTerminal((*record)->status);
    if (waiting) {
      state->timer.expires_after(wait_for);
      state->timer.async_wait([this, state](boost::system::error_code ec) {
        if (ec != asio::error::operation_aborted) FinishWait(state);
      });
      return;
    }
    state->finished = true;
    if (const auto token = state->token.load(); token != 0) waiters_.Remove(token);
    state->respond(JobReply(record));
  });
}

void JobReads::FinishWait(const std::shared_ptr<WaitState>& state) {
  if (state->finished) return;
  state->finished = true;
  waiters_.Remove(state->token.load());
  state->timer.cancel();
  state->respond(JobReply(store_.Get(state->id)));
}

void JobReads::List(std::string_view query, Respond respond) {
  auto limit = QueryInt(query, "limit");
  if (!limit) return respond(ErrorReply(limit.error()));
  const std::int64_t wanted = limit->value_or(kDefaultListLimit);
  if (wanted < 1 || wanted > kMaxListLimit) {
    return respond(ErrorReply(ErrorCode::kInvalidRequest,
                              fmt::format("'limit' must be between 1 and {}.", kMaxListLimit)));
  }
  auto records = store_.Recent(static_cast<std::size_t>(wanted));
  if (!records) return respond(Unavailable(records.error()));
  respond(JsonReply(200, RenderJobList(*records)));
}

void JobReads::GetResult(const std::string& id, Respond respond) {
  auto record = store_.Get(id);
  if (!record || !*record) return respond(JobReply(record));
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

void JobReads::Cancel(const std::string& id, Respond respond) {
  JobStatus current = JobStatus::kQueued;
  auto outcome = store_.Cancel(id, &current);
  if (!outcome) return respond(Unavailable(outcome.error()));
  switch (*outcome) {
    case CancelOutcome::kNotFound:
      return respond(ErrorReply(ErrorCode::kNotFound));
    case CancelOutcome::kNotQueued:
      return respond(ErrorReply(
          ErrorCode::kNotCancellable,
          fmt::format("The job is {}; only queued jobs can be cancelled.", ToString(current))));
    case CancelOutcome::kCancelled:
      break;
  }
  broker_.Cancel(id);
  auto record = store_.Get(id);
  if (record && *record) return respond(JsonReply(200, RenderJob(**record)));
  // Cancelled, but the record could not be read back: say what is known.
  JsonWriter json;
  json.BeginObject().Key("id").String(id).Key("status").String(ToString(JobStatus::kCancelled));
  respond(JsonReply(200, json.EndObject().Take()));
}

}  // namespace batchq
