#include "gateway/job_api.h"

#include <atomic>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <unordered_map>

#include <fmt/format.h>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "common/job_id.h"
#include "common/job_status.h"
#include "common/json_writer.h"
#include "gateway/embedded_documents.h"
#include "gateway/job_json.h"
#include "gateway/request_parser.h"

namespace batchq {

namespace asio = boost::asio;

namespace {

HttpReply JsonReply(int status, std::string body) {
  return HttpReply{status, std::move(body), "application/json", {}};
}

HttpReply ErrorReply(int status, std::string_view code, std::string_view message) {
  return JsonReply(status, RenderError(code, message));
}

HttpReply Unavailable(const Error& error) {
  HttpReply reply = ErrorReply(503, error.code, error.message);
  reply.headers.emplace_back("Retry-After", "1");
  return reply;
}

bool IsJsonContentType(std::string_view content_type) {
  const auto semicolon = content_type.find(';');
  std::string_view media = content_type.substr(0, semicolon);
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  if (media.size() != 16) return false;
  for (size_t i = 0; i < media.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(media[i])) != "application/json"[i]) return false;
  }
  return true;
}

// Reads one integer query parameter; nullopt when absent.
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
      return Fail("invalid_request", fmt::format("'{}' must be a non-negative integer.", name));
    }
    return std::optional<std::int64_t>(value);
  }
  return std::optional<std::int64_t>();
}

// FNV-1a over the body: tells a retried request from a different one under the same key.
std::string Fingerprint(std::string_view body) {
  std::uint64_t hash = 1469598103934665603ull;
  for (const char c : body) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return fmt::format("{:016x}", hash);
}

int StatusForVerdict(std::string_view code) {
  if (code == "queue_full") return 429;
  if (code == "unknown_type") return 400;
  return 503;
}

void WriteQueued(JsonWriter& json, const std::string& id, const JobRequest& request,
                 WallMicros created) {
  json.BeginObject();
  json.Key("id").String(id).Key("status").String("queued").Key("type").String(request.type);
  json.Key("priority").Int(request.priority).Key("created_at").String(FormatRfc3339(created));
  json.EndObject();
}

}  // namespace

struct JobApi::WaitState {
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

JobApi::JobApi(asio::io_context& io, Options options, BrokerLink& broker,
               CompletionWaiters& waiters, prometheus::Registry& registry)
    : io_(io),
      options_(std::move(options)),
      broker_(broker),
      waiters_(waiters),
      registry_(registry),
      http_metrics_(registry) {}

JobStore& JobApi::Store() {
  struct Slot {
    std::unique_ptr<RedisConnection> redis;
    std::unique_ptr<JobStore> store;
  };
  thread_local std::unordered_map<const JobApi*, Slot> slots;
  Slot& slot = slots[this];
  if (!slot.store) {
    slot.redis = std::make_unique<RedisConnection>(options_.redis);
    slot.store = std::make_unique<JobStore>(*slot.redis, options_.store);
  }
  return *slot.store;
}

void JobApi::Handle(HttpRequestIn request, Respond respond) {
  const auto start = std::chrono::steady_clock::now();
  const std::string_view route = HttpMetrics::RouteOf(request.path);
  Route(std::move(request), [this, start, route, respond = std::move(respond)](HttpReply reply) {
    http_metrics_.Observe(route, reply.status, std::chrono::steady_clock::now() - start);
    respond(std::move(reply));
  });
}

void JobApi::Route(HttpRequestIn request, Respond respond) {
  const std::string_view path = request.path;
  const std::string_view method = request.method;
  constexpr std::string_view kJobs = "/v1/jobs/";
  if (path == "/v1/jobs" && method == "GET") return ListJobs(request.query, std::move(respond));
  if (path == "/v1/jobs") {
    if (method != "POST") {
      return respond(ErrorReply(405, "method_not_allowed", "Use GET or POST."));
    }
    return Submit(request, std::move(respond), false);
  }
  if (path == "/v1/jobs:batch") {
    if (method != "POST") return respond(ErrorReply(405, "method_not_allowed", "Use POST."));
    return Submit(request, std::move(respond), true);
  }
  if (path.starts_with(kJobs)) {
    std::string_view rest = path.substr(kJobs.size());
    bool want_result = false;
    if (rest.ends_with("/result")) {
      rest.remove_suffix(7);
      want_result = true;
    }
    if (!LooksLikeJobId(rest)) {
      return respond(ErrorReply(404, "not_found", "No such job."));
    }
    std::string id(rest);
    if (want_result) {
      if (method != "GET") return respond(ErrorReply(405, "method_not_allowed", "Use GET."));
      return GetResult(id, std::move(respond));
    }
    if (method == "GET") return GetJob(std::move(id), request.query, std::move(respond));
    if (method == "DELETE") return Cancel(id, std::move(respond));
    return respond(ErrorReply(405, "method_not_allowed", "Use GET or DELETE."));
  }
  if (method != "GET") {
    return respond(ErrorReply(404, "not_found", fmt::format("No route for {} {}.", method, path)));
  }
  if (path == "/v1/types") return Types(std::move(respond));
  if (path == "/healthz") return respond(JsonReply(200, R"({"status":"ok"})"));
  if (path == "/readyz") return Ready(std::move(respond));
  if (path == "/" || path == "/ui") {
    return respond(HttpReply{200, std::string(DashboardPage()), "text/html; charset=utf-8", {}});
  }
  if (path == "/openapi.json") {
    return respond(JsonReply(200, std::string(OpenApiDocument())));
  }
  if (path == "/metrics") {
    return respond(
        HttpReply{200, RenderPrometheusText(registry_), std::string(kPrometheusContentType), {}});
  }
  respond(ErrorReply(404, "not_found", fmt::format("No route for GET {}.", path)));
}

void JobApi::Submit(const HttpRequestIn& request, Respond respond, bool batch) {
  if (!IsJsonContentType(request.content_type)) {
    return respond(ErrorReply(415, "unsupported_media_type",
                              "Send the body as Content-Type: application/json."));
  }
  std::vector<Result<JobRequest>> items;
  if (batch) {
    auto parsed = ParseBatchRequest(request.body, options_.max_batch_jobs);
    if (!parsed) return respond(ErrorReply(400, parsed.error().code, parsed.error().message));
    items = std::move(*parsed);
  } else {
    auto parsed = ParseJobRequest(request.body);
    if (!parsed) return respond(ErrorReply(400, parsed.error().code, parsed.error().message));
    items.push_back(std::move(*parsed));
  }
  if (!broker_.alive()) {
    return respond(Unavailable(Error{"broker_unavailable", "The broker is not reachable."}));
  }
  // Unknown types are refused before anything is written.
  const auto status = broker_.status();
  for (auto& item : items) {
    if (!item) continue;
    const bool known = std::any_of(status->types.begin(), status->types.end(),
                                   [&](const wire::TypeStatus& t) { return t.name == item->type; });
    if (!known) {
      item = Fail("unknown_type", fmt::format("No job type '{}' is served here; GET /v1/types "
                                              "lists them.",
                                              item->type));
    }
  }
  if (!batch && !items.front()) {
    return respond(ErrorReply(400, items.front().error().code, items.front().error().message));
  }

  const WallMicros created = NowWallMicros();
  std::vector<NewJob> jobs;
  std::vector<std::size_t> item_of_job;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!items[i]) continue;
    jobs.push_back(NewJob{NewJobId(), items[i]->type, items[i]->priority, items[i]->input, created,
                          items[i]->timeout_ms});
    item_of_job.push_back(i);
  }
  // One job with an Idempotency-Key: the same key and body name the same job, once.
  const std::string idempotency_key = batch ? std::string() : request.idempotency_key;
  if (!idempotency_key.empty() && !jobs.empty()) {
    if (idempotency_key.size() > 255 || !std::all_of(idempotency_key.begin(), idempotency_key.end(),
                                                     [](char c) { return c > 0x20 && c < 0x7f; })) {
      return respond(ErrorReply(400, "invalid_request",
                                "Idempotency-Key must be 1-255 visible ASCII characters."));
    }
    auto created = Store().CreateIdempotent(jobs[0], idempotency_key, Fingerprint(request.body));
    if (!created) return respond(Unavailable(created.error()));
    if (!created->same_request) {
      return respond(ErrorReply(422, "idempotency_conflict",
                                "This Idempotency-Key was used with a different request body."));
    }
    if (!created->created) return Replay(created->id, std::move(respond));
  } else if (!jobs.empty()) {
    if (auto stored = Store().Create(jobs); !stored) return respond(Unavailable(stored.error()));
  }
  if (options_.fault_exit_after_persist > 0 && !jobs.empty() &&
      ++persisted_ == options_.fault_exit_after_persist) {
    std::fprintf(stderr, "fault injection: exiting between persist and forward\n");
    std::_Exit(3);
  }

  std::vector<std::string> ids;
  std::vector<wire::SubmitJob> wire_jobs;
  ids.reserve(jobs.size());
  wire_jobs.reserve(jobs.size());
  for (auto& job : jobs) {
    ids.push_back(job.id);
    wire_jobs.push_back(wire::SubmitJob{std::move(job.id), std::move(job.type), job.priority, 0,
                                        std::move(job.input), job.created.count(), job.timeout_ms});
  }

  auto reply_with = [this, batch, items = std::move(items), ids = std::move(ids), item_of_job,
                     created, idempotency_key, respond = std::move(respond)](
                        Result<std::vector<wire::Verdict>> verdicts) mutable {
    // A timeout leaves the jobs durable in Redis, where the broker's sweep finds them:
    // they were accepted, so the client still gets 202.
    std::vector<std::string> refused;
    std::vector<std::optional<wire::Verdict>> verdict_of_item(items.size());
    if (verdicts && verdicts->size() == ids.size()) {
      for (std::size_t j = 0; j < ids.size(); ++j) {
        if (!(*verdicts)[j].code.empty()) {
          refused.push_back(ids[j]);
          verdict_of_item[item_of_job[j]] = std::move((*verdicts)[j]);
        }
      }
    }
    if (!refused.empty()) {
      (void)Store().Remove(refused);
      // The key must not keep naming a job that was never accepted.
      if (!idempotency_key.empty()) (void)Store().ForgetIdempotencyKey(idempotency_key);
    }

    if (!batch) {
      if (verdict_of_item[0]) {
        const auto& v = *verdict_of_item[0];
        HttpReply reply = ErrorReply(StatusForVerdict(v.code), v.code, v.message);
        if (v.retry_after_ms > 0) {
          reply.headers.emplace_back("Retry-After",
                                     std::to_string((v.retry_after_ms + 999) / 1000));
        }
        return respond(std::move(reply));
      }
      JsonWriter json;
      WriteQueued(json, ids[0], *items[0], created);
      HttpReply reply = JsonReply(202, json.Take());
      reply.headers.emplace_back("Location", "/v1/jobs/" + ids[0]);
      return respond(std::move(reply));
    }
    JsonWriter json;
    json.BeginObject().Key("jobs").BeginArray();
    std::size_t j = 0;
    for (std::size_t i = 0; i < items.size(); ++i) {
      const bool has_job = j < item_of_job.size() && item_of_job[j] == i;
      const std::size_t job_index = j;
      if (has_job) ++j;
      if (!items[i]) {
        json.BeginObject().Key("error").BeginObject();
        json.Key("code").String(items[i].error().code);
        json.Key("message").String(items[i].error().message);
        json.EndObject().EndObject();
      } else if (verdict_of_item[i]) {
        const auto& v = *verdict_of_item[i];
        json.BeginObject().Key("error").BeginObject();
        json.Key("code").String(v.code).Key("message").String(v.message);
        json.EndObject();
        if (v.retry_after_ms > 0) json.Key("retry_after_ms").Int(v.retry_after_ms);
        json.EndObject();
      } else {
        WriteQueued(json, ids[job_index], *items[i], created);
      }
    }
    json.EndArray().EndObject();
    respond(JsonReply(202, json.Take()));
  };

  if (wire_jobs.empty()) return reply_with(std::vector<wire::Verdict>{});
  auto shared_reply = std::make_shared<decltype(reply_with)>(std::move(reply_with));
  broker_.Submit(std::move(wire_jobs), options_.submit_timeout,
                 [this, shared_reply](Result<std::vector<wire::Verdict>> verdicts) {
                   // Off the link thread at once: the reply may touch Redis.
                   asio::post(io_, [shared_reply, verdicts = std::move(verdicts)]() mutable {
                     (*shared_reply)(std::move(verdicts));
                   });
                 });
}

void JobApi::Replay(const std::string& id, Respond respond) {
  auto record = Store().Get(id);
  if (!record) return respond(Unavailable(record.error()));
  if (!*record) {
    return respond(ErrorReply(404, "not_found", "The job this Idempotency-Key named is gone."));
  }
  HttpReply reply = JsonReply(202, RenderJob(**record));
  reply.headers.emplace_back("Location", "/v1/jobs/" + id);
  reply.headers.emplace_back("Idempotent-Replayed", "true");
  respond(std::move(reply));
}

void JobApi::GetJob(std::string id, std::string_view query, Respond respond) {
  auto wait = QueryInt(query, "wait_ms");
  if (!wait) return respond(ErrorReply(400, wait.error().code, wait.error().message));
  const auto wait_for = std::min(std::chrono::milliseconds(wait->value_or(0)), options_.max_wait);

  auto state = std::make_shared<WaitState>(io_, id, std::move(respond));
  if (wait_for.count() > 0) {
    // Registered before the first read, so a completion between the two is not missed.
    state->token = waiters_.Add(
        id, [this, state] { asio::post(state->strand, [this, state] { FinishWait(state); }); });
  }
  auto record = Store().Get(id);
  // Every decision about this wait is taken on its strand: a notice may already have
  // answered it, and exactly one answer must go out.
  asio::post(state->strand, [this, state, wait_for, record = std::move(record)]() mutable {
    if (state->finished) return;
    const bool answer_now =
        !record || !*record || wait_for.count() == 0 ||
        IsTerminal(ParseJobStatus((*record)->status).value_or(JobStatus::kQueued));
    if (!answer_now) {
      state->timer.expires_after(wait_for);
      state->timer.async_wait([this, state](boost::system::error_code ec) {
        if (ec == asio::error::operation_aborted) return;
        FinishWait(state);
      });
      return;
    }
    state->finished = true;
    if (const auto token = state->token.load(); token != 0) waiters_.Remove(token);
    if (!record) return state->respond(Unavailable(record.error()));
    if (!*record) return state->respond(ErrorReply(404, "not_found", "No such job."));
    state->respond(JsonReply(200, RenderJob(**record)));
  });
}

void JobApi::ListJobs(std::string_view query, Respond respond) {
  auto limit = QueryInt(query, "limit");
  if (!limit) return respond(ErrorReply(400, limit.error().code, limit.error().message));
  const std::int64_t wanted = limit->value_or(kDefaultListLimit);
  if (wanted < 1 || wanted > kMaxListLimit) {
    return respond(ErrorReply(400, "invalid_request",
                              fmt::format("'limit' must be between 1 and {}.", kMaxListLimit)));
  }
  auto records = Store().Recent(static_cast<std::size_t>(wanted));
  if (!records) return respond(Unavailable(records.error()));
  std::string body = R"({"jobs":[)";
  for (std::size_t i = 0; i < records->size(); ++i) {
    if (i > 0) body += ',';
    body += RenderJob((*records)[i]);
  }
  body += "]}";
  respond(JsonReply(200, std::move(body)));
}

void JobApi::FinishWait(const std::shared_ptr<WaitState>& state) {
  if (state->finished) return;
  state->finished = true;
  waiters_.Remove(state->token.load());
  state->timer.cancel();
  auto record = Store().Get(state->id);
  if (!record) return state->respond(Unavailable(record.error()));
  if (!*record) return state->respond(ErrorReply(404, "not_found", "No such job."));
  state->respond(JsonReply(200, RenderJob(**record)));
}

void JobApi::GetResult(const std::string& id, Respond respond) {
  auto record = Store().Get(id);
  if (!record) return respond(Unavailable(record.error()));
  if (!*record) return respond(ErrorReply(404, "not_found", "No such job."));
  if ((*record)->status != "succeeded") {
    return respond(ErrorReply(409, "no_result",
                              fmt::format("The job is {} and has no result.", (*record)->status)));
  }
  if ((*record)->result_type.empty()) return respond(JsonReply(200, (*record)->result));
  auto blob = Store().GetBlob(id);
  if (!blob) return respond(Unavailable(blob.error()));
  if (!*blob) {
    return respond(ErrorReply(404, "result_expired", "The job's result has expired."));
  }
  respond(HttpReply{200, std::move(**blob), (*record)->result_type, {}});
}

void JobApi::Cancel(const std::string& id, Respond respond) {
  std::string current;
  auto outcome = Store().Cancel(id, &current);
  if (!outcome) return respond(Unavailable(outcome.error()));
  switch (*outcome) {
    case CancelOutcome::kNotFound:
      return respond(ErrorReply(404, "not_found", "No such job."));
    case CancelOutcome::kNotQueued:
      return respond(
          ErrorReply(409, "not_cancellable",
                     fmt::format("The job is {}; only queued jobs can be cancelled.", current)));
    case CancelOutcome::kCancelled:
      break;
  }
  broker_.Cancel(id);
  auto record = Store().Get(id);
  if (record && *record) return respond(JsonReply(200, RenderJob(**record)));
  respond(JsonReply(200, fmt::format(R"({{"id":"{}","status":"cancelled"}})", id)));
}

void JobApi::Types(Respond respond) {
  if (!broker_.alive()) {
    return respond(Unavailable(Error{"broker_unavailable", "The broker is not reachable."}));
  }
  const auto status = broker_.status();
  JsonWriter json;
  json.BeginObject().Key("types").BeginArray();
  for (const auto& type : status->types) {
    json.BeginObject();
    json.Key("name").String(type.name);
    json.Key("max_batch_size").Int(type.max_batch_size);
    json.Key("max_delay_us").Int(type.max_delay_us);
    json.Key("max_queue").Int(type.max_queue);
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
    json.Key("learned_cost").BeginObject();
    json.Key("fixed_us")
        .Double(type.cost_fixed_us)
        .Key("per_item_us")
        .Double(type.cost_per_item_us);
    json.EndObject();
    json.Key("arrivals_per_s").Double(type.arrivals_per_s);
    json.Key("dispatched_per_s").Double(type.dispatched_per_s);
    json.Key("batch_sizes").BeginArray();
    for (const auto count : type.batch_sizes) json.Int(static_cast<std::int64_t>(count));
    json.EndArray();
    json.EndObject();
  }
  json.EndArray().Key("workers").BeginArray();
  for (const auto& worker : status->workers) {
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
  json.EndArray().EndObject();
  respond(JsonReply(200, json.Take()));
}

void JobApi::Ready(Respond respond) {
  const bool broker_ok = broker_.alive();
  const bool redis_ok = Store().Ping().has_value();
  JsonWriter json;
  json.BeginObject();
  json.Key("status").String(broker_ok && redis_ok ? "ready" : "not_ready");
  json.Key("broker").Bool(broker_ok).Key("redis").Bool(redis_ok);
  json.EndObject();
  HttpReply reply = JsonReply(broker_ok && redis_ok ? 200 : 503, json.Take());
  if (reply.status == 503) reply.headers.emplace_back("Retry-After", "1");
  respond(std::move(reply));
}

}  // namespace batchq
