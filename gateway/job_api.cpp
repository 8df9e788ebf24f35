#include "gateway/job_api.h"

#include <algorithm>
#include <mutex>

#include <fmt/format.h>
#include <boost/asio/post.hpp>

#include "common/job_id.h"
#include "gateway/api_batch.h"
#include "gateway/api_reply.h"
#include "gateway/embedded_documents.h"
#include "gateway/job_json.h"
#include "gateway/request_parser.h"
#include "gateway/route_scope.h"
#include "gateway/submit_wait.h"
#include "gateway/webhook_routes.h"

namespace batchq {

JobApi::JobApi(IoThreads& io, Options options, JobStorePort& store, JobCommitPort& commit,
               KeyStorePort& keys, WebhookDeliveriesPort& webhooks, BrokerPort& broker,
               CompletionWaiters& waiters, JobEventHub& hub, prometheus::Registry& registry,
               KeyAuthenticator* authenticator)
    : store_(store),
      broker_(broker),
      registry_(registry),
      authenticator_(authenticator),
      storage_full_(options.submit.storage_full),
      http_metrics_(registry),
      submit_in_flight_(prometheus::BuildGauge()
                            .Name("batchq_submit_jobs_in_flight")
                            .Help("Jobs of submits awaiting Redis, its replicas or the broker's "
                                  "verdict (bounded by --max-in-flight-submit-jobs)")
                            .Register(registry)
                            .Add({})),
      hub_(hub),
      event_streams_(prometheus::BuildGauge()
                         .Name("batchq_event_streams_open")
                         .Help("Server-sent event streams this gateway holds open")
                         .Register(registry)
                         .Add({})),
      submit_(options.submit, store, commit, broker,
              [&io] {
                return SubmitHandler::Post([&context = io.Here()](std::function<void()> task) {
                  boost::asio::post(context, std::move(task));
                });
              }),
      reads_(io, options.reads, store, broker, waiters),
      retry_(store, broker, options.submit.submit_timeout,
             [&io](std::function<void()> task) { boost::asio::post(io.Next(), std::move(task)); }),
      events_(options.events, store, hub),
      max_wait_(options.reads.max_wait),
      keys_(keys),
      webhooks_(webhooks),
      waiters_(waiters),
      blocking_(options.blocking) {}

void JobApi::Handle(HttpRequestIn&& request, Respond respond) {
  const auto start = std::chrono::steady_clock::now();
  const std::string_view route = HttpMetrics::RouteOf(request.path);
  auto observed = [this, start, route, respond = std::move(respond)](HttpReply reply) {
    http_metrics_.Observe(route, reply.status, std::chrono::steady_clock::now() - start);
    respond(std::move(reply));
  };
  const auto scope = RequiredScope(request.method, request.path);
  if (!scope) return RouteService(request, std::move(observed));
  std::optional<Result<Caller>> authenticated;
  if (authenticator_ != nullptr) {
    authenticated =
        authenticator_->AuthenticateCached(request.authorization, start, NowWallMicros());
    // A key not in the cache is looked up in Redis, which an I/O thread must not wait for.
    if (!authenticated) {
      return Offload(std::move(observed),
                     [this, request = std::move(request), scope = *scope](Respond respond) mutable {
                       AdmitAndRoute(std::move(request), scope, std::nullopt, std::move(respond));
                     });
    }
  }
  AdmitAndRoute(std::move(request), *scope, std::move(authenticated), std::move(observed));
}

void JobApi::AdmitAndRoute(HttpRequestIn&& request, Scope scope,
                           std::optional<Result<Caller>> authenticated, Respond respond) {
  const bool api_batch = request.path == "/v1/batch";
  auto caller = Admit(request, api_batch ? std::nullopt : std::optional<Scope>(scope),
                      std::move(authenticated));
  if (!caller) return respond(std::move(caller.error()));
  Route(std::move(request), *caller,
        [this, tenant = caller->tenant, respond = std::move(respond)](HttpReply reply) {
          http_metrics_.ObserveTenant(tenant, reply.status);
          respond(std::move(reply));
        });
}

std::expected<Caller, HttpReply> JobApi::Admit(const HttpRequestIn& request,
                                               std::optional<Scope> scope,
                                               std::optional<Result<Caller>> authenticated) {
  if (authenticator_ == nullptr) return UnauthenticatedCaller();
  const auto now = std::chrono::steady_clock::now();
  auto caller = authenticated
                    ? std::move(*authenticated)
                    : authenticator_->Authenticate(request.authorization, now, NowWallMicros());
  if (!caller) {
    if (caller.error().code != ErrorCode::kUnauthenticated) {
      return std::unexpected(Unavailable(caller.error()));
    }
    HttpReply reply = ErrorReply(caller.error());
    reply.headers.emplace_back("WWW-Authenticate", R"(Bearer realm="batchq")");
    return std::unexpected(std::move(reply));
  }
  if (scope) {
    if (auto refused = ScopeOrRate(*caller, *scope, now)) return std::unexpected(*refused);
  } else if (auto refused = RateOnly(*caller, now)) {
    return std::unexpected(*refused);
  }
  return *caller;
}

std::optional<HttpReply> JobApi::RateOnly(const Caller& caller,
                                          std::chrono::steady_clock::time_point now) {
  // Every keyed request takes a token, reads too: a polling loop is load as well.
  auto wait = rate_limiter_.Take(caller.key_id, caller.rate_per_s, caller.burst, now);
  if (!wait) return std::nullopt;
  HttpReply reply =
      ErrorReply(ErrorCode::kRateLimited,
                 fmt::format("This key may make {} requests per second.", caller.rate_per_s));
  AddRetryAfter(reply, *wait);
  return reply;
}

std::optional<HttpReply> JobApi::ScopeOrRate(const Caller& caller, Scope scope,
                                             std::chrono::steady_clock::time_point now) {
  if (!Has(caller.scopes, scope)) {
    return ErrorReply(ErrorCode::kForbidden,
                      fmt::format("This route needs a key with the '{}' scope; this key has '{}'.",
                                  ToString(scope), ScopesText(caller.scopes)));
  }
  return RateOnly(caller, now);
}

std::optional<HttpReply> JobApi::AdmitSubRequest(const HttpRequestIn& request,
                                                 const Caller& caller) {
  if (authenticator_ == nullptr) return std::nullopt;
  const auto scope = RequiredScope(request.method, request.path);
  return ScopeOrRate(caller, scope.value_or(Scope::kRead), std::chrono::steady_clock::now());
}

namespace {

// The answers of an API batch's sub-requests, as they come (from any thread); the last
// one sends the batch's answer.
class ApiBatchAnswers {
 public:
  ApiBatchAnswers(std::vector<ApiSubResponse> responses, Respond respond)
      : responses_(std::move(responses)), left_(responses_.size()), respond_(std::move(respond)) {}

  void Done(std::size_t index, HttpReply reply) {
    {
      const std::lock_guard lock(mutex_);
      responses_[index].reply = std::move(reply);
      if (--left_ > 0) return;
    }
    respond_(JsonReply(200, RenderApiBatch(responses_)));
  }

 private:
  std::mutex mutex_;
  std::vector<ApiSubResponse> responses_;
  std::size_t left_;
  Respond respond_;
};

}  // namespace

void JobApi::RunApiBatch(const HttpRequestIn& request, const Caller& caller, Respond respond) {
  if (request.method != "POST") {
    return respond(ErrorReply(ErrorCode::kMethodNotAllowed, "Use POST."));
  }
  if (!IsJsonContentType(request.content_type)) {
    return respond(ErrorReply(ErrorCode::kUnsupportedMediaType));
  }
  auto subs = ParseApiBatch(request.body);
  if (!subs) return respond(ErrorReply(subs.error()));
  std::vector<ApiSubResponse> responses(subs->size());
  for (std::size_t i = 0; i < subs->size(); ++i) responses[i].id = (*subs)[i].id;
  auto answers = std::make_shared<ApiBatchAnswers>(std::move(responses), std::move(respond));
  for (std::size_t i = 0; i < subs->size(); ++i) {
    ApiSubRequest& sub = (*subs)[i];
    Respond done = [answers, i](HttpReply reply) { answers->Done(i, std::move(reply)); };
    if (sub.refused) {
      done(ErrorReply(*sub.refused));
    } else if (auto refused = AdmitSubRequest(sub.request, caller)) {
      done(std::move(*refused));
    } else {
      Route(std::move(sub.request), caller, std::move(done));
    }
  }
}

void JobApi::Route(HttpRequestIn&& request, const Caller& caller, Respond respond) {
  const std::string_view path = request.path;
  const std::string_view method = request.method;
  if (path == "/v1/batch") return RunApiBatch(request, caller, std::move(respond));
  if (path == "/v1/jobs" && method == "GET") {
    return Offload(std::move(respond),
                   [this, query = std::move(request.query), caller](Respond respond) {
                     reads_.List(query, caller, std::move(respond));
                   });
  }
  if (path == "/v1/events") {
    if (method != "GET") return respond(ErrorReply(ErrorCode::kMethodNotAllowed, "Use GET."));
    return events_.TenantEvents(request, caller, std::move(respond));
  }
  if (path == "/v1/jobs" || path == "/v1/jobs:batch") {
    if (method != "POST") {
      return respond(ErrorReply(ErrorCode::kMethodNotAllowed,
                                path == "/v1/jobs" ? "Use GET or POST." : "Use POST."));
    }
    const bool batch = path == "/v1/jobs:batch";
    auto wait = SubmitWait(request.query, request.prefer, max_wait_);
    if (!wait) return respond(ErrorReply(wait.error()));
    if (wait->count() > 0) {
      // The jobs' waiters are registered before Redis (so any broker) has them, so the
      // wait needs no first read of their records.
      auto watches = std::make_shared<EarlyWatches>();
      SubmitHandler::BeforeCommit before_commit = [this, watches](std::span<const NewJob> jobs) {
        ExpectEnds(jobs);
        for (const NewJob& job : jobs) {
          (*watches)[job.id] = std::make_shared<EarlyWatch>(waiters_, job.id);
        }
      };
      return submit_.Handle(request, batch, caller,
                            AnswerWhenEnded(*wait, batch, caller, std::move(respond), watches),
                            std::move(before_commit));
    }
    return submit_.Handle(
        request, batch, caller,
        [respond = std::move(respond)](SubmitAnswer answer) mutable {
          respond(std::move(answer.reply));
        },
        [this](std::span<const NewJob> jobs) { ExpectEnds(jobs); });
  }
  if (path.starts_with("/v1/jobs/")) return RouteJob(request, caller, std::move(respond));
  if (path == "/v1/keys" || path.starts_with("/v1/keys/")) {
    return Offload(std::move(respond), [this, request = std::move(request)](Respond respond) {
      respond(keys_.Handle(request, NowWallMicros()));
    });
  }
  if (path == kWebhookDeliveriesPath || path.starts_with("/v1/webhooks/deliveries/")) {
    return Offload(std::move(respond),
                   [this, request = std::move(request), caller](Respond respond) {
                     respond(HandleWebhookRoute(request, caller, webhooks_));
                   });
  }
  if (method == "GET" && path == "/v1/types") return Types(std::move(respond));
  if (method == "GET" && path == "/metrics") {
    submit_in_flight_.Set(static_cast<double>(submit_.in_flight_jobs()));
    event_streams_.Set(static_cast<double>(hub_.watchers()));
    return respond(
        HttpReply{200, RenderPrometheusText(registry_), std::string(kPrometheusContentType), {}});
  }
  respond(ErrorReply(ErrorCode::kNotFound, fmt::format("No route for {} {}.", method, path)));
}

void JobApi::ExpectEnds(std::span<const NewJob> jobs) {
  for (const NewJob& job : jobs) waiters_.Expect(job.id, job.tenant);
}

SubmitRespond JobApi::AnswerWhenEnded(std::chrono::milliseconds wait, bool batch,
                                      const Caller& caller, Respond respond,
                                      std::shared_ptr<EarlyWatches> watches) {
  return [this, wait, batch, caller, respond = std::move(respond),
          watches = std::move(watches)](SubmitAnswer answer) mutable {
    // One per accepted job, in order; empty when one has none (an idempotent replay).
    std::vector<std::shared_ptr<EarlyWatch>> ordered;
    for (const SubmitItemOutcome& item : answer.items) {
      if (item.id.empty()) continue;
      auto found = watches->find(item.id);
      if (found == watches->end()) {
        ordered.clear();
        break;
      }
      ordered.push_back(std::move(found->second));
    }
    watches->clear();  // a refused job's watch goes now
    const bool any = std::any_of(answer.items.begin(), answer.items.end(),
                                 [](const SubmitItemOutcome& item) { return !item.id.empty(); });
    // Anything without an accepted job (a refusal, a 503) is answered as it is.
    if (answer.reply.status != 202 || !any) return respond(std::move(answer.reply));
    if (!batch) {
      return reads_.AwaitEnd(std::move(answer.items.front().id), wait, caller,
                             std::move(answer.reply), std::move(respond),
                             ordered.empty() ? nullptr : std::move(ordered.front()));
    }
    reads_.AwaitBatchEnd(std::move(answer.items), wait, caller, std::move(answer.reply),
                         std::move(respond), std::move(ordered));
  };
}

void JobApi::RouteJob(const HttpRequestIn& request, const Caller& caller, Respond respond) {
  constexpr std::string_view kResult = "/result";
  constexpr std::string_view kEvents = "/events";
  constexpr std::string_view kRetry = ":retry";
  std::string_view rest =
      std::string_view(request.path).substr(std::string_view("/v1/jobs/").size());
  if (rest.ends_with(kRetry)) {
    rest.remove_suffix(kRetry.size());
    if (!LooksLikeJobId(rest)) return respond(ErrorReply(ErrorCode::kNotFound));
    if (request.method != "POST") {
      return respond(ErrorReply(ErrorCode::kMethodNotAllowed, "Use POST."));
    }
    return Offload(std::move(respond), [this, id = std::string(rest), caller](Respond respond) {
      retry_.Handle(id, caller, std::move(respond));
    });
  }
  const bool want_result = rest.ends_with(kResult);
  if (want_result) rest.remove_suffix(kResult.size());
  const bool want_events = !want_result && rest.ends_with(kEvents);
  if (want_events) rest.remove_suffix(kEvents.size());
  if (!LooksLikeJobId(rest)) return respond(ErrorReply(ErrorCode::kNotFound));
  std::string id(rest);
  const std::string_view method = request.method;
  if (want_events) {
    if (method != "GET") return respond(ErrorReply(ErrorCode::kMethodNotAllowed, "Use GET."));
    return Offload(std::move(respond),
                   [this, id, last_event_id = request.last_event_id, caller](Respond respond) {
                     events_.JobEvents(id, last_event_id, caller, std::move(respond));
                   });
  }
  if (want_result) {
    if (method != "GET") return respond(ErrorReply(ErrorCode::kMethodNotAllowed, "Use GET."));
    return Offload(std::move(respond), [this, id, caller](Respond respond) {
      reads_.GetResult(id, caller, std::move(respond));
    });
  }
  if (method == "GET") return reads_.Get(std::move(id), request.query, caller, std::move(respond));
  if (method == "DELETE") {
    return Offload(std::move(respond), [this, id, caller](Respond respond) {
      reads_.Cancel(id, caller, std::move(respond));
    });
  }
  respond(ErrorReply(ErrorCode::kMethodNotAllowed, "Use GET or DELETE."));
}

void JobApi::Offload(Respond respond, std::function<void(Respond)> work) {
  if (blocking_ == nullptr) return work(std::move(respond));
  // Shared so that a refused call's answer can still be sent from here.
  auto shared = std::make_shared<Respond>(std::move(respond));
  if (blocking_->Run([work = std::move(work), shared] { work(std::move(*shared)); })) return;
  (*shared)(Unavailable(BlockingCalls::FullError()));
}

void JobApi::RouteService(const HttpRequestIn& request, Respond respond) {
  const std::string_view path = request.path;
  if (request.method != "GET") {
    return respond(
        ErrorReply(ErrorCode::kNotFound, fmt::format("No route for {} {}.", request.method, path)));
  }
  if (path == "/healthz") return respond(JsonReply(200, R"({"status":"ok"})"));
  if (path == "/readyz") {
    return Offload(std::move(respond), [this](Respond respond) { Ready(std::move(respond)); });
  }
  if (path == "/" || path == "/ui") {
    return respond(HttpReply{200, std::string(DashboardPage()), "text/html; charset=utf-8", {}});
  }
  if (path == "/openapi.json") return respond(JsonReply(200, std::string(OpenApiDocument())));
  respond(ErrorReply(ErrorCode::kNotFound, fmt::format("No route for GET {}.", path)));
}

void JobApi::Types(Respond respond) {
  if (!broker_.alive()) {
    return respond(
        Unavailable(Error{ErrorCode::kBrokerUnavailable, "The broker is not reachable."}));
  }
  respond(JsonReply(200, RenderTypes(*broker_.status())));
}

void JobApi::Ready(Respond respond) {
  const bool broker_ok = broker_.alive();
  const bool redis_ok = store_.Ping().has_value();
  const auto storage_full =
      storage_full_ ? storage_full_() : std::optional<std::string>(std::nullopt);
  HttpReply reply = JsonReply(broker_ok && redis_ok && !storage_full ? 200 : 503,
                              RenderReadiness(broker_ok, redis_ok, storage_full));
  if (reply.status == 503) AddRetryAfter(reply, kUnavailableRetryAfter);
  respond(std::move(reply));
}

}  // namespace batchq
