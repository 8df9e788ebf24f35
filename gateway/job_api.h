#pragma once
// The HTTP API of DESIGN.md: checks the caller's key and scope (route_scope.h,
// KeyAuthenticator) and rate (RateLimiter), picks the route and hands the request to
// the piece that owns it (SubmitHandler for submits, JobReads for reads and cancels, JobRetry for
// :retry, KeyAdmin for keys), runs an API batch's sub-requests (POST /v1/batch, api_batch.h)
// through the same routes, answers the service routes (types, health, readiness,
// dashboard, OpenAPI, metrics) itself, and counts every answer in HttpMetrics.
// Handle() may be called from any I/O thread.

#include <span>

#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <boost/asio/io_context.hpp>

#include "common/http_types.h"
#include "gateway/blocking_calls.h"
#include "gateway/broker_port.h"
#include "gateway/caller.h"
#include "gateway/completion_waiters.h"
#include "gateway/early_watch.h"
#include "gateway/event_routes.h"
#include "gateway/http_metrics.h"
#include "gateway/job_commit_port.h"
#include "gateway/job_event_hub.h"
#include "gateway/job_reads.h"
#include "gateway/job_retry.h"
#include "gateway/job_store_port.h"
#include "gateway/key_admin.h"
#include "gateway/key_authenticator.h"
#include "gateway/key_store_port.h"
#include "gateway/rate_limiter.h"
#include "gateway/submit_handler.h"
#include "gateway/webhook_deliveries_port.h"

namespace batchq {

// The early waiters of a submit's new jobs, by id (filled in before forwarding).
using EarlyWatches = std::unordered_map<std::string, std::shared_ptr<EarlyWatch>>;

class JobApi {
 public:
  struct Options {
    SubmitHandler::Options submit;
    JobReads::Options reads;
    EventRoutes::Options events;
    // Where the routes whose work is a blocking Redis call with no group form run (list,
    // result, cancel, :retry, keys, dead deliveries, readiness); null: on the I/O thread.
    // Must outlive the API.
    BlockingCalls* blocking = nullptr;
  };

  // Everything passed in must outlive the API. `authenticator` null means --auth none:
  // every request is UnauthenticatedCaller(). Every answer is counted in `registry`
  // (HttpMetrics), which GET /metrics serves.
  JobApi(IoThreads& io, Options options, JobStorePort& store, JobCommitPort& commit,
         KeyStorePort& keys, WebhookDeliveriesPort& webhooks, BrokerPort& broker,
         CompletionWaiters& waiters, JobEventHub& hub, prometheus::Registry& registry,
         KeyAuthenticator* authenticator);

  // Takes `request`: the routes move what they keep out of it.
  void Handle(HttpRequestIn&& request, Respond respond);

 private:
  // Admits the request (Admit) and routes it.
  void AdmitAndRoute(HttpRequestIn&& request, Scope scope,
                     std::optional<Result<Caller>> authenticated, Respond respond);
  // The caller, or the 401/403/429/503 that refuses the request. Without a scope (the
  // API batch) any valid key is admitted; each sub-request is checked on its own.
  // `authenticated` is the key's check when already made (from the cache), else the key
  // is authenticated here, looked up if need be.
  std::expected<Caller, HttpReply> Admit(const HttpRequestIn& request, std::optional<Scope> scope,
                                         std::optional<Result<Caller>> authenticated);
  std::optional<HttpReply> RateOnly(const Caller& caller,
                                    std::chrono::steady_clock::time_point now);
  std::optional<HttpReply> ScopeOrRate(const Caller& caller, Scope scope,
                                       std::chrono::steady_clock::time_point now);
  // The 403 or 429 that refuses one sub-request of an API batch, if any.
  std::optional<HttpReply> AdmitSubRequest(const HttpRequestIn& request, const Caller& caller);
  // POST /v1/batch: every sub-request routed at once, answered when the last one is.
  void RunApiBatch(const HttpRequestIn& request, const Caller& caller, Respond respond);
  void Route(HttpRequestIn&& request, const Caller& caller, Respond respond);
  void RouteJob(const HttpRequestIn& request, const Caller& caller, Respond respond);
  // Holds just-created jobs as unfinished until their ends are notified, so that a
  // long-poll of one starts waiting without reading it first (CompletionWaiters).
  void ExpectEnds(std::span<const NewJob> jobs);
  // The answer to a submit that may wait up to `wait` for its jobs to end (?wait_ms,
  // Prefer: wait): a 202 becomes a 200 with the ended jobs when they all end in time.
  // `watch`, when the submit handler filled it in before forwarding, is the job's early
  // waiter: the wait then needs no first read.
  SubmitRespond AnswerWhenEnded(std::chrono::milliseconds wait, bool batch, const Caller& caller,
                                Respond respond, std::shared_ptr<EarlyWatches> watches);
  // Runs `work` on the blocking-call threads (or here, without them); when they hold as
  // many calls as they may, answers 503 overloaded instead.
  void Offload(Respond respond, std::function<void(Respond)> work);
  void RouteService(const HttpRequestIn& request, Respond respond);
  void Types(Respond respond);
  void Ready(Respond respond);

  JobStorePort& store_;
  BrokerPort& broker_;
  prometheus::Registry& registry_;
  KeyAuthenticator* const authenticator_;
  const std::function<std::optional<std::string>()> storage_full_;  // may be unset
  RateLimiter rate_limiter_;
  HttpMetrics http_metrics_;
  // Set from the submit handler's count on each GET /metrics.
  prometheus::Gauge& submit_in_flight_;
  JobEventHub& hub_;
  prometheus::Gauge& event_streams_;  // set from the hub on each GET /metrics
  SubmitHandler submit_;
  JobReads reads_;
  JobRetry retry_;
  EventRoutes events_;
  const std::chrono::milliseconds max_wait_;  // of long-polls and waiting submits
  KeyAdmin keys_;
  WebhookDeliveriesPort& webhooks_;
  CompletionWaiters& waiters_;
  BlockingCalls* const blocking_;  // may be null
};

}  // namespace batchq
