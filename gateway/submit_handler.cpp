#include "gateway/submit_handler.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include <fmt/format.h>

#include "common/job_id.h"
#include "gateway/api_reply.h"
#include "gateway/callback_admission.h"
#include "gateway/job_json.h"

namespace batchq {

struct SubmitHandler::Pending {
  // Counts a submit's jobs as in flight while it lives: the Pending that holds it goes
  // once the submit is answered. (Nested, not in an anonymous namespace: Pending has
  // linkage, and a member of such a type draws GCC's -Wsubobject-linkage in a unity
  // build, where this file is an included one.)
  class InFlightClaim {
   public:
    InFlightClaim() = default;
    InFlightClaim(InFlightClaim&& other) noexcept
        : counter_(std::exchange(other.counter_, nullptr)), jobs_(other.jobs_) {}
    InFlightClaim& operator=(InFlightClaim&&) = delete;
    ~InFlightClaim() {
      if (counter_ != nullptr) counter_->fetch_sub(jobs_);
    }
    // Takes over `jobs` already added to `counter`.
    void Hold(std::atomic<std::size_t>& counter, std::size_t jobs) {
      counter_ = &counter;
      jobs_ = jobs;
    }

   private:
    std::atomic<std::size_t>* counter_ = nullptr;
    std::size_t jobs_ = 0;
  };

  AdmittedSubmit admitted;
  Caller caller;
  Respond respond;                       // error answers
  SubmitRespond answer;                  // 202s, with what each item became
  std::vector<NewJob> jobs;              // one per admitted item that passed its checks
  std::vector<std::size_t> item_of_job;  // jobs[j] is items[item_of_job[j]]
  InFlightClaim in_flight;
  SubmitHandler::BeforeCommit before_commit;  // may be unset
  SubmitHandler::Post post;                   // where the broker's verdict is answered
};

namespace {

// The job's own retry settings, else its type's defaults as the broker announces them.
void SetRetries(NewJob& job, const JobRequest& item, const wire::Status& status) {
  const auto type = std::find_if(status.types.begin(), status.types.end(),
                                 [&job](const wire::TypeStatus& t) { return t.name == job.type; });
  const bool known = type != status.types.end();
  job.max_retries = item.max_retries >= 0 ? static_cast<std::uint32_t>(item.max_retries)
                    : known               ? type->max_retries
                                          : 0;
  job.retry_backoff_ms = item.retry_backoff_ms >= 0 ? item.retry_backoff_ms
                         : known                    ? type->retry_backoff_ms
                                                    : 0;
}

// One new job per item that passed its checks; the items' type and input move to it.
std::vector<NewJob> NewJobs(std::vector<Result<JobRequest>>& items, const std::string& tenant,
                            const std::string& key_id, WallMicros created,
                            const wire::Status& status, std::vector<std::size_t>& item_of_job) {
  std::vector<NewJob> jobs;
  jobs.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!items[i]) continue;
    NewJob& job = jobs.emplace_back();
    job.id = NewJobId();
    job.type = std::move(items[i]->type);
    job.tenant = tenant;
    job.priority = items[i]->priority;
    job.input = std::move(items[i]->input);
    job.created = created;
    job.timeout_ms = items[i]->timeout_ms;
    SetRetries(job, *items[i], status);
    job.callback_url = std::move(items[i]->callback_url);
    if (!job.callback_url.empty()) job.webhook_key = key_id;
    item_of_job.push_back(i);
  }
  return jobs;
}

// The jobs as SUBMIT carries them. Their inputs move to the message: once durable, the
// gateway's answer needs everything but the input.
std::vector<wire::SubmitJob> WireJobs(std::vector<NewJob>& jobs, const Caller& caller) {
  std::vector<wire::SubmitJob> wire_jobs;
  wire_jobs.reserve(jobs.size());
  for (auto& job : jobs) {
    wire::SubmitJob& out = wire_jobs.emplace_back();
    out.id = job.id;
    out.type = job.type;
    out.priority = job.priority;
    out.input = std::move(job.input);
    out.created_us = job.created.count();
    out.timeout_ms = job.timeout_ms;
    out.tenant = caller.tenant;
    out.tenant_weight = caller.weight;
    out.tenant_max_queued = caller.max_queued;
  }
  return wire_jobs;
}

// The broker's refusal of one job, as an error of the one table.
struct Refusal {
  Error error;
  std::int64_t retry_after_ms = 0;
};

Refusal RefusalOf(const wire::Verdict& verdict) {
  return Refusal{
      Error{ParseErrorCode(verdict.code).value_or(ErrorCode::kBrokerUnavailable), verdict.message},
      verdict.retry_after_ms};
}

// An item the gateway refuses before anything is written, with when to retry (0: no
// Retry-After).
struct ItemRefusal {
  Error error;
  std::chrono::milliseconds retry_after{0};
};

// Runs `check` on each item still standing. A single submit refused is answered (true);
// a :batch's refused items are refused each, and the rest go on (false).
template <typename Check>
bool RefuseItems(AdmittedSubmit& admitted, Respond& respond, Check check) {
  for (std::size_t i = 0; i < admitted.items.size(); ++i) {
    if (!admitted.items[i]) continue;
    std::optional<ItemRefusal> refusal = check(*admitted.items[i]);
    if (!refusal) continue;
    if (!admitted.batch) {
      HttpReply reply = ErrorReply(refusal->error);
      if (refusal->retry_after.count() > 0) AddRetryAfter(reply, refusal->retry_after);
      respond(std::move(reply));
      return true;
    }
    if (refusal->retry_after.count() > 0) {
      admitted.retry_after.resize(admitted.items.size());
      admitted.retry_after[i] = refusal->retry_after;
    }
    admitted.items[i] = std::unexpected(std::move(refusal->error));
  }
  return false;
}

}  // namespace

SubmitHandler::SubmitHandler(Options options, JobStorePort& store, JobCommitPort& commit,
                             BrokerPort& broker, PostFrom post_from)
    : options_(std::move(options)),
      store_(store),
      commit_(commit),
      broker_(broker),
      post_from_(std::move(post_from)) {}

void SubmitHandler::Handle(const HttpRequestIn& request, bool batch, const Caller& caller,
                           SubmitRespond answer, BeforeCommit before_commit) {
  Respond respond = [answer](HttpReply reply) { answer(SubmitAnswer{std::move(reply), {}}); };
  auto admitted = ParseSubmit(request, batch, options_.limits);
  if (!admitted) return respond(ErrorReply(admitted.error()));
  if (!broker_.alive())
    return respond(
        Unavailable(Error{ErrorCode::kBrokerUnavailable, "The broker is not reachable."}));
  const auto status = broker_.status();
  if (auto checked = CheckSubmit(*admitted, request, options_.limits, *status); !checked) {
    return respond(ErrorReply(checked.error()));
  }
  if (RefuseBadCallbacks(*admitted, caller, respond)) return;
  if (ShedRefusingTypes(*admitted, *status, respond)) return;
  if (options_.storage_full) {
    if (auto full = options_.storage_full()) {
      return respond(Unavailable(Error{ErrorCode::kStorageFull, std::move(*full)}));
    }
  }
  if (!admitted->idempotency_key.empty()) {
    // Tenant names hold no ':', so "tenant:key" never collides across tenants.
    admitted->idempotency_key = caller.tenant + ":" + admitted->idempotency_key;
  }
  auto pending = std::make_shared<Pending>(Pending{std::move(*admitted),
                                                   caller,
                                                   std::move(respond),
                                                   std::move(answer),
                                                   {},
                                                   {},
                                                   {},
                                                   std::move(before_commit),
                                                   post_from_()});
  pending->jobs = NewJobs(pending->admitted.items, caller.tenant, caller.key_id, NowWallMicros(),
                          *status, pending->item_of_job);
  if (pending->jobs.empty()) return Answer(*pending, std::vector<wire::Verdict>{});
  if (!ClaimInFlight(*pending)) return;
  // A stale stored-bytes figure is read from Redis, which an I/O thread must not wait for.
  if (options_.stored_quota != nullptr && options_.blocking != nullptr &&
      options_.stored_quota->NeedsRead(caller.tenant, caller.max_stored_bytes,
                                       StoredBytesQuota::Clock::now())) {
    if (options_.blocking->Run([this, pending] { CheckQuotaAndCommit(pending); })) return;
    return pending->respond(Unavailable(BlockingCalls::FullError()));
  }
  CheckQuotaAndCommit(std::move(pending));
}

void SubmitHandler::CheckQuotaAndCommit(std::shared_ptr<Pending> pending) {
  if (RefusedForStoredBytes(*pending)) return;
  std::optional<IdempotencyClaim> claim;
  if (!pending->admitted.idempotency_key.empty()) {
    claim = IdempotencyClaim{pending->admitted.idempotency_key, pending->admitted.fingerprint};
  }
  if (pending->before_commit) pending->before_commit(pending->jobs);
  // The jobs and the claim's texts live in `pending`, which the callback keeps.
  Pending& held = *pending;
  const bool queued =
      commit_.Commit(held.jobs, claim, [this, pending](JobCommitPort::Outcome outcome) mutable {
        // A durable job goes on to the broker from the commit's own thread: what that
        // takes (a push to the broker link's queue) is short and thread-safe, and an I/O
        // thread woken only to forward it was one more thread hop per submit. Only what
        // reads or writes Redis again goes elsewhere.
        if (!AnswerCallsRedis(outcome)) return OnCommitted(std::move(pending), std::move(outcome));
        const Post post = pending->post;
        PostBlocking(
            [this, pending = std::move(pending), outcome = std::move(outcome)]() mutable {
              OnCommitted(std::move(pending), std::move(outcome));
            },
            post);
      });
  if (!queued) {
    HttpReply reply = Unavailable(Error{ErrorCode::kOverloaded,
                                        "The gateway holds as many submits waiting for Redis as "
                                        "it may; retry shortly."});
    return held.respond(std::move(reply));
  }
}

void SubmitHandler::OnCommitted(std::shared_ptr<Pending> pending, JobCommitPort::Outcome outcome) {
  if (!Persisted(*pending, outcome)) return;
  if (options_.fault_exit_after_persist > 0 && ++persisted_ == options_.fault_exit_after_persist) {
    std::fprintf(stderr, "fault injection: exiting between persist and forward\n");
    std::_Exit(3);
  }
  Forward(std::move(pending));
}

bool SubmitHandler::ShedRefusingTypes(AdmittedSubmit& admitted, const wire::Status& status,
                                      Respond& respond) {
  return RefuseItems(admitted, respond, [&](const JobRequest& item) -> std::optional<ItemRefusal> {
    auto refusal = saturated_.Check(item.type, status);
    if (!refusal) return std::nullopt;
    return ItemRefusal{Error{ErrorCode::kQueueWaitExceeded, std::move(refusal->message)},
                       refusal->retry_after};
  });
}

bool SubmitHandler::RefuseBadCallbacks(AdmittedSubmit& admitted, const Caller& caller,
                                       Respond& respond) {
  return RefuseItems(admitted, respond, [&](const JobRequest& item) -> std::optional<ItemRefusal> {
    if (item.callback_url.empty()) return std::nullopt;
    auto error = CheckCallback(item.callback_url, caller.webhook, options_.webhook_allow);
    if (!error) return std::nullopt;
    return ItemRefusal{std::move(*error), {}};
  });
}

bool SubmitHandler::ClaimInFlight(Pending& pending) {
  const std::size_t jobs = pending.jobs.size();
  const std::size_t before = in_flight_jobs_.fetch_add(jobs);
  const std::size_t bound = options_.max_in_flight_jobs;
  if (bound == 0 || before == 0 || before + jobs <= bound) {
    pending.in_flight.Hold(in_flight_jobs_, jobs);
    return true;
  }
  in_flight_jobs_.fetch_sub(jobs);
  pending.respond(Unavailable(
      Error{ErrorCode::kOverloaded,
            fmt::format("The gateway holds {} submitted jobs awaiting Redis or the broker, its "
                        "bound; retry shortly.",
                        bound)}));
  return false;
}

void SubmitHandler::NoteRefusalByTime(const NewJob& job, const wire::Verdict& verdict) {
  if (verdict.code != Name(ErrorCode::kQueueWaitExceeded)) return;
  saturated_.Mark(job.type, *broker_.status(), std::chrono::milliseconds(verdict.retry_after_ms),
                  verdict.message);
}

bool SubmitHandler::RefusedForStoredBytes(Pending& pending) {
  if (options_.stored_quota == nullptr) return false;
  std::uint64_t bytes = 0;
  for (const NewJob& job : pending.jobs) bytes += JobStore::CreationBytes(job);
  const WallMicros wall_now = NowWallMicros();
  auto refusal = options_.stored_quota->Admit(
      pending.caller.tenant, pending.caller.max_stored_bytes, bytes, StoredBytesQuota::Clock::now(),
      wall_now, [&](std::string_view tenant) { return store_.ReadStoredBytes(tenant, wall_now); });
  if (!refusal) return false;
  HttpReply reply = ErrorReply(refusal->error);
  if (refusal->retry_after.count() > 0) AddRetryAfter(reply, refusal->retry_after);
  pending.respond(std::move(reply));
  return true;
}

bool SubmitHandler::Persisted(Pending& pending, const JobCommitPort::Outcome& outcome) {
  const Result<CreateOutcome>& created = outcome.created;
  if (!created) {
    pending.respond(Unavailable(created.error()));
    return false;
  }
  if (!created->same_request) {
    pending.respond(ErrorReply(ErrorCode::kIdempotencyConflict));
    return false;
  }
  if (!created->created) {
    HttpReply replay = ReplayOf(created->id);
    if (replay.status != 202) {
      pending.respond(std::move(replay));
    } else {
      pending.answer(SubmitAnswer{std::move(replay), {SubmitItemOutcome{created->id, {}, 0}}});
    }
    return false;
  }
  return Replicated(pending, outcome.replicas);
}

bool SubmitHandler::Replicated(Pending& pending, const std::optional<Result<int>>& replicas) {
  if (options_.replicas_ack <= 0) return true;
  const Result<int> reached =
      replicas.value_or(Fail(ErrorCode::kNotReplicated, "no replica count was asked for"));
  if (reached && *reached >= options_.replicas_ack) return true;
  // Unconfirmed, the records may vanish in a failover, so they are never answered 202:
  // withdrawn if Redis lets us, so that the client's retry is the only copy; if not
  // (the master just died), they may survive and run, which a retry with the same
  // Idempotency-Key turns into one run.
  std::vector<std::string> ids;
  for (const NewJob& job : pending.jobs) ids.push_back(job.id);
  const bool withdrawn = Withdraw(pending, ids);
  const std::string reach =
      reached ? fmt::format("reached {} of the {} Redis replicas it must reach within {} ms",
                            *reached, options_.replicas_ack, options_.replicas_wait.count())
              : fmt::format("was not confirmed by Redis replicas ({})", reached.error().message);
  const std::string why =
      withdrawn ? fmt::format("The job {}, so it was withdrawn; retry.", reach)
                : fmt::format(
                      "The job {}, and it could not be withdrawn, so it may run; retry "
                      "with the same Idempotency-Key to have it run once.",
                      reach);
  pending.respond(Unavailable(Error{ErrorCode::kNotReplicated, why}));
  return false;
}

void SubmitHandler::Forward(std::shared_ptr<Pending> pending) {
  auto jobs = WireJobs(pending->jobs, pending->caller);
  broker_.Submit(
      std::move(jobs), options_.submit_timeout,
      // `verdicts` by reference: as a by-value parameter, moved into from std::function's
      // argument, it drew GCC 12's -Wmaybe-uninitialized inside std::expected (a false
      // positive, in the unity build).
      [this, pending](Result<std::vector<wire::Verdict>>&& verdicts) {
        // A refused job is withdrawn from Redis before the answer.
        const bool refused = verdicts && std::any_of(verdicts->begin(), verdicts->end(),
                                                     [](const auto& v) { return !v.code.empty(); });
        std::function<void()> task = [this, pending, verdicts = std::move(verdicts)]() mutable {
          Answer(*pending, std::move(verdicts));
        };
        refused ? PostBlocking(std::move(task), pending->post) : pending->post(std::move(task));
      });
}

bool SubmitHandler::AnswerCallsRedis(const JobCommitPort::Outcome& outcome) const {
  if (!outcome.created) return false;
  if (!outcome.created->created) return outcome.created->same_request;  // a replay's read
  if (options_.replicas_ack <= 0) return false;
  return !outcome.replicas || !*outcome.replicas || **outcome.replicas < options_.replicas_ack;
}

void SubmitHandler::PostBlocking(std::function<void()> task, const Post& post) {
  // Copied, so that a refused task can still go to an I/O thread.
  if (options_.blocking != nullptr && options_.blocking->Run(task)) return;
  post(std::move(task));
}

void SubmitHandler::Answer(Pending& pending, Result<std::vector<wire::Verdict>> verdicts) {
  // No answer in time leaves the jobs durable in Redis, where the broker's sweep finds
  // them: they were accepted, so the client still gets 202.
  std::vector<std::optional<Refusal>> refusals(pending.jobs.size());
  std::vector<std::string> refused;
  if (verdicts && verdicts->size() == pending.jobs.size()) {
    for (std::size_t j = 0; j < pending.jobs.size(); ++j) {
      if ((*verdicts)[j].code.empty()) continue;
      refusals[j] = RefusalOf((*verdicts)[j]);
      NoteRefusalByTime(pending.jobs[j], (*verdicts)[j]);
      refused.push_back(pending.jobs[j].id);
    }
  }
  if (!refused.empty() && !Withdraw(pending, refused)) {
    std::fill(refusals.begin(), refusals.end(), std::nullopt);
  }
  if (!pending.admitted.batch) {
    if (refusals[0]) {
      HttpReply reply = ErrorReply(refusals[0]->error);
      if (refusals[0]->retry_after_ms > 0) {
        AddRetryAfter(reply, std::chrono::milliseconds(refusals[0]->retry_after_ms));
      }
      return pending.respond(std::move(reply));
    }
    HttpReply reply = JsonReply(202, RenderQueued(pending.jobs[0]));
    reply.headers.emplace_back("Location", "/v1/jobs/" + pending.jobs[0].id);
    return pending.answer(
        SubmitAnswer{std::move(reply), {SubmitItemOutcome{pending.jobs[0].id, {}, 0}}});
  }
  std::vector<SubmitItemView> views(pending.admitted.items.size());
  for (std::size_t i = 0; i < views.size(); ++i) {
    if (pending.admitted.items[i]) continue;
    views[i].error = pending.admitted.items[i].error();
    if (i < pending.admitted.retry_after.size()) {
      views[i].retry_after_ms = pending.admitted.retry_after[i].count();
    }
  }
  for (std::size_t j = 0; j < pending.jobs.size(); ++j) {
    SubmitItemView& view = views[pending.item_of_job[j]];
    if (refusals[j]) {
      view.error = refusals[j]->error;
      view.retry_after_ms = refusals[j]->retry_after_ms;
    } else {
      view.queued = &pending.jobs[j];
    }
  }
  std::vector<SubmitItemOutcome> items(views.size());
  for (std::size_t i = 0; i < views.size(); ++i) {
    if (views[i].queued != nullptr) {
      items[i].id = views[i].queued->id;
    } else {
      items[i].error = views[i].error;
      items[i].retry_after_ms = views[i].retry_after_ms;
    }
  }
  pending.answer(SubmitAnswer{JsonReply(202, RenderSubmitResults(views)), std::move(items)});
}

bool SubmitHandler::Withdraw(const Pending& pending, const std::vector<std::string>& refused) {
  // The key first: while it names the job, the job must stay accepted.
  if (!pending.admitted.idempotency_key.empty() &&
      !store_.ForgetIdempotencyKey(pending.admitted.idempotency_key)) {
    return false;
  }
  return store_.Remove(refused).has_value();
}

HttpReply SubmitHandler::ReplayOf(const std::string& id) {
  auto record = store_.Get(id);
  if (!record) return Unavailable(record.error());
  if (!*record)
    return ErrorReply(ErrorCode::kNotFound, "The job this Idempotency-Key named is gone.");
  HttpReply reply = JsonReply(202, RenderJob(**record));
  reply.headers.emplace_back("Location", "/v1/jobs/" + id);
  reply.headers.emplace_back("Idempotent-Replayed", "true");
  return reply;
}

}  // namespace batchq
