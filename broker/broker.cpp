#include "broker/broker.h"

#include <algorithm>
#include <fstream>
#include <stdexcept>
#include <unordered_set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/curve_socket.h"
#include "common/job_id.h"
#include "common/json_writer.h"
#include "common/zmq_transport.h"

namespace batchq {
namespace {

using Clock = std::chrono::steady_clock;

// Pending jobs read from Redis per sweep.
constexpr std::size_t kSweepBatch = 1000;
// The longest poll, which also bounds how long a stop request goes unnoticed.
constexpr std::chrono::milliseconds kMaxPoll{200};
constexpr std::chrono::seconds kOverloadedRetryAfter{1};
// How long SUBMITs are checked before they are queued once junk was seen.
constexpr std::chrono::seconds kCheckFirstFor{60};

// ZAP domains: which allow-list a port's peers are checked against.
constexpr std::string_view kGatewayDomain = "gateway";
constexpr std::string_view kWorkerDomain = "worker";

Now NowBoth() { return Now{Clock::now(), NowWallMicros()}; }

RedisConnection::Options RedisOptions(const BrokerConfig& config) {
  auto endpoint = ResolveRedisEndpoint(config.redis_url, config.redis_password_file,
                                       config.redis_sentinel_password_file);
  if (!endpoint) throw std::runtime_error(endpoint.error().message);
  return RedisConnection::Options{*endpoint};
}

BrokerCore::Options CoreOptions(const BrokerConfig& config, std::uint64_t epoch) {
  BrokerCore::Options options;
  options.policy = BatchPolicy::Options{config.defaults, config.aging_step, config.queue_lifetime};
  for (const auto& spec : config.types) {
    auto settings = ParseTypeSettings(spec, config.defaults);
    if (!settings) throw std::runtime_error(settings.error().message);
    options.types.push_back(*settings);
  }
  options.heartbeat_interval = config.heartbeat_interval;
  options.heartbeat_liveness = config.heartbeat_liveness;
  options.max_attempts = config.max_attempts;
  options.running_lease = config.running_lease;
  options.tenant_max_queued_bytes = config.tenant_max_queued_bytes;
  options.batch_prefix = NewJobId().substr(0, 8);
  options.epoch = epoch;
  return options;
}

void WriteReadyFile(const std::string& path, const std::string& frontend,
                    const std::string& backend) {
  JsonWriter json;
  json.BeginObject().Key("frontend").String(frontend).Key("backend").String(backend).EndObject();
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << json.str() << "\n";
  }
  std::rename(tmp.c_str(), path.c_str());
}

}  // namespace

Broker::Broker(const BrokerConfig& config)
    : config_(config),
      registry_(std::make_shared<prometheus::Registry>()),
      metrics_(*registry_),
      metrics_endpoint_(config.metrics_listen, registry_),
      context_(1),
      frontend_(context_, zmq::socket_type::router),
      backend_(context_, zmq::socket_type::router),
      core_(std::make_unique<BrokerCore>(CoreOptions(config, 0), &metrics_)),
      redis_(RedisOptions(config)),
      store_(redis_, JobStore::Options{config.key_prefix, config.result_ttl}),
      lease_(redis_, config.key_prefix, NewLeaseHolder(), config.lease),
      lease_state_(LeaseState::Options{config.lease}),
      endings_(RedisOptions(config), JobStore::Options{config.key_prefix, config.result_ttl},
               config.heartbeat_interval),
      record_check_(RedisOptions(config), JobStore::Options{config.key_prefix, config.result_ttl}) {
  for (zmq::socket_t* socket : {&frontend_, &backend_}) {
    ApplySocketDefaults(*socket);
    // Unroutable sends fail loudly instead of vanishing, so a lost worker is noticed at once.
    socket->set(zmq::sockopt::router_mandatory, 1);
  }
  if (auto login = redis_.CheckLogin(); !login) throw std::runtime_error(login.error().message);
  SecureSockets();
  try {
    frontend_.bind(config_.frontend);
    backend_.bind(config_.backend);
  } catch (const zmq::error_t& e) {
    throw std::runtime_error(fmt::format("cannot bind broker sockets: {}", e.what()));
  }
  frontend_endpoint_ = LastEndpoint(frontend_);
  backend_endpoint_ = LastEndpoint(backend_);
  if (!config_.ready_file.empty()) {
    WriteReadyFile(config_.ready_file, frontend_endpoint_, backend_endpoint_);
  }
  spdlog::info("broker {} frontend {} backend {}", lease_.holder(), frontend_endpoint_,
               backend_endpoint_);
  if (metrics_endpoint_.port() != 0) {
    spdlog::info("broker metrics on port {}", metrics_endpoint_.port());
  }
}

Broker::~Broker() = default;

void Broker::SecureSockets() {
  if (config_.no_curve) {
    for (const auto& endpoint : {config_.frontend, config_.backend}) {
      if (!IsLoopbackEndpoint(endpoint)) {
        throw std::runtime_error(fmt::format(
            "--no-curve is only allowed on loopback, and {} is not: anyone who reaches it "
            "could submit jobs or take them as a worker. Give --curve-secret-file, "
            "--gateway-keys and --worker-keys instead.",
            endpoint));
      }
    }
    spdlog::warn("CURVE is off (--no-curve): any local process may connect to the broker");
    return;
  }
  if (config_.curve_secret_file.empty() || config_.gateway_keys_dir.empty() ||
      config_.worker_keys_dir.empty()) {
    throw std::runtime_error(
        "the broker needs CURVE keys: --curve-secret-file (its key, made by `batchq keygen`), "
        "--gateway-keys and --worker-keys (directories of the public keys allowed on each "
        "port); or --no-curve on loopback");
  }
  auto own = LoadCurveSecretFile(config_.curve_secret_file);
  if (!own) throw std::runtime_error(own.error().message);
  zap_ = std::make_unique<ZapHandler>(
      context_, ZapHandler::Options{{{std::string(kGatewayDomain), config_.gateway_keys_dir},
                                     {std::string(kWorkerDomain), config_.worker_keys_dir}},
                                    config_.allow_list_reload,
                                    [this](std::string_view domain, const PeerVerdict& verdict) {
                                      metrics_.OnPeerChecked(domain, verdict.allowed);
                                    }});
  UseCurveServer(frontend_, *own, kGatewayDomain);
  UseCurveServer(backend_, *own, kWorkerDomain);
}

void Broker::Run(const std::atomic<bool>& stop) {
  while (!stop.load(std::memory_order_relaxed)) {
    KeepLease();
    Now now = NowBoth();
    Effects effects;
    if (lease_state_.active()) ServeTimers(now, effects);
    Apply(std::move(effects), now);

    MonotonicTime wake = lease_state_.next_call_at();
    if (lease_state_.active()) {
      wake = std::min({wake, next_heartbeat_, next_sweep_, lease_state_.held_until()});
      if (core_->wake_at()) wake = std::min(wake, *core_->wake_at());
    }
    auto timeout = std::chrono::ceil<std::chrono::milliseconds>(wake - now.steady);
    timeout = std::clamp(timeout, std::chrono::milliseconds(0), kMaxPoll);
    zmq::pollitem_t items[] = {{frontend_.handle(), 0, ZMQ_POLLIN, 0},
                               {backend_.handle(), 0, ZMQ_POLLIN, 0},
                               {nullptr, record_check_.wake_fd(), ZMQ_POLLIN, 0}};
    PollOrSignal(items, 3, timeout);
    now = NowBoth();
    // The process may have been frozen past its lease while it waited.
    if (lease_state_.Check(now.steady) == LeaseState::Change::kDeposed) {
      StepDown("its lease lapsed by its own clock");
    }
    Effects received;
    if (items[1].revents & ZMQ_POLLIN) HandleBackend(now, received);
    if (items[2].revents & ZMQ_POLLIN) AdmitChecked(now, received);
    if (items[0].revents & ZMQ_POLLIN) HandleFrontend(now, received);
    Apply(std::move(received), now);
  }
  spdlog::info("broker stopping; {} batches in flight return through the sweep",
               core_->in_flight_batches());
  if (lease_state_.active()) {
    // A standby takes over now rather than when the lease would have lapsed.
    if (auto released = lease_.Release(lease_state_.epoch()); !released) {
      spdlog::warn("could not release the lease: {}", released.error().message);
    }
  }
}

void Broker::ServeTimers(Now now, Effects& out) {
  if (now.steady >= next_heartbeat_) {
    core_->OnHeartbeatTick(now, out);
    UpdateGauges(now.steady);
    next_heartbeat_ = now.steady + config_.heartbeat_interval;
  }
  if (now.steady >= next_sweep_) {
    Sweep(now, out);
    next_sweep_ = now.steady + config_.sweep_interval;
  }
  core_->OnEndingsWritten(endings_.TakeWritten(lease_state_.epoch()));
  core_->OnTick(now, out);
}

void Broker::KeepLease() {
  const auto sent = Clock::now();
  if (sent < lease_state_.next_call_at()) return;
  LeaseState::Change change = LeaseState::Change::kNone;
  std::optional<Error> failed;
  if (lease_state_.active()) {
    const std::uint64_t epoch = lease_state_.epoch();
    auto renewed = lease_.Renew(epoch);
    if (renewed) {
      change = lease_state_.OnAnswer(*renewed ? epoch : 0, sent, Clock::now());
    } else {
      failed = renewed.error();
    }
  } else {
    auto taken = lease_.Take();
    if (taken) {
      change = lease_state_.OnAnswer(*taken, sent, Clock::now());
    } else {
      failed = taken.error();
    }
  }
  if (failed) {
    change = lease_state_.OnNoAnswer(Clock::now());
    if (const auto held_back = lease_log_.Admit("lease", Clock::now())) {
      spdlog::warn("lease: {}{}", failed->message, HeldBackNote(*held_back));
    }
  }
  if (change == LeaseState::Change::kBecameActive) BecomeActive(lease_state_.epoch());
  if (change == LeaseState::Change::kDeposed) {
    StepDown(failed ? "its lease lapsed while Redis did not answer"
                    : "its lease lapsed in Redis or another broker took it");
  }
}

void Broker::BecomeActive(std::uint64_t epoch) {
  core_ = std::make_unique<BrokerCore>(CoreOptions(config_, epoch), &metrics_);
  metrics_.OnLeaseChange(epoch);
  const Now now = NowBoth();
  spdlog::info("broker {} is active, epoch {}: taking on the jobs queued in Redis", lease_.holder(),
               epoch);
  Effects effects;
  std::size_t read = 0;
  for (std::size_t offset = 0;; offset += read) {
    read = SweepPending(now.wall, offset, now, effects);
    if (read < kSweepBatch) break;
  }
  Apply(std::move(effects), now);
  next_heartbeat_ = now.steady + config_.heartbeat_interval;
  next_sweep_ = now.steady + config_.sweep_interval;
}

void Broker::StepDown(std::string_view why) {
  for (const auto& [routing, worker] : core_->workers().workers()) {
    SendWire(backend_, routing, wire::Disconnect{"this broker is no longer active"});
  }
  std::uint64_t queued = 0;
  for (const auto& type : core_->BuildStatus(0, Clock::now()).types) queued += type.queue_depth;
  spdlog::warn(
      "broker {} stands by: {}. Its {} queued jobs and {} batches in flight are in Redis for "
      "the next active broker; Redis refuses what this one still sends.",
      lease_.holder(), why, queued, core_->in_flight_batches());
  core_ = std::make_unique<BrokerCore>(CoreOptions(config_, 0), &metrics_);
  metrics_.OnLeaseChange(0);
  UpdateGauges(Clock::now());  // a standby holds no queue and no worker
}

namespace {

// An ACCEPT that gives every job of `submit` the same refusal.
Outbound RefuseAll(std::string routing, const wire::Submit& submit, wire::Verdict verdict) {
  wire::Accept accept{submit.request_id, {}};
  accept.verdicts.assign(submit.jobs.size(), std::move(verdict));
  return Outbound{std::move(routing), std::move(accept)};
}

}  // namespace

void Broker::AnswerAsStandby(zmq::socket_t& socket, bool frontend) {
  for (int i = 0; i < kMaxMessagesPerWake; ++i) {
    auto received = ReceiveWire(socket, /*routed=*/true);
    if (!received) return;
    std::optional<wire::Message> reply;
    if (!received->message) {
      reply = wire::Disconnect{"bad message: " + received->message.error().message};
    } else if (!frontend) {
      if (!std::holds_alternative<wire::Disconnect>(*received->message)) {
        reply = wire::Disconnect{"this broker is standing by, not active: try the next one"};
      }
    } else if (auto* ping = std::get_if<wire::Ping>(&*received->message)) {
      wire::Status status;
      status.seq = ping->seq;
      status.active = false;
      reply = std::move(status);
    } else if (auto* submit = std::get_if<wire::Submit>(&*received->message)) {
      reply = RefuseAll({}, *submit,
                        wire::Verdict{std::string(Name(ErrorCode::kBrokerUnavailable)),
                                      "The broker asked is standing by; try again.",
                                      std::chrono::milliseconds(kOverloadedRetryAfter).count()})
                  .message;
    }
    if (reply) SendWire(socket, received->routing, *reply);
  }
}

void Broker::HandleFrontend(Now now, Effects& out) {
  if (!lease_state_.active()) return AnswerAsStandby(frontend_, /*frontend=*/true);
  for (int i = 0; i < kMaxMessagesPerWake; ++i) {
    auto received = ReceiveWire(frontend_, /*routed=*/true);
    if (!received) return;
    if (!received->message) {
      RefuseBadMessage("frontend", *received, out.to_gateways);
      continue;
    }
    auto& message = *received->message;
    if (auto* submit = std::get_if<wire::Submit>(&message)) {
      CheckRecords(std::move(received->routing), std::move(*submit), now, out);
    } else if (auto* cancel = std::get_if<wire::Cancel>(&message)) {
      core_->OnCancel(*cancel, out);
    } else if (auto* ping = std::get_if<wire::Ping>(&message)) {
      out.to_gateways.push_back(
          Outbound{received->routing, core_->BuildStatus(ping->seq, now.steady)});
    } else {
      spdlog::warn("frontend: unexpected {}", wire::CommandName(message));
    }
  }
}

void Broker::CheckRecords(std::string routing, wire::Submit submit, Now now, Effects& out) {
  if (record_check_.unchecked_jobs() + submit.jobs.size() > config_.max_unchecked_jobs) {
    out.to_gateways.push_back(RefuseAll(
        std::move(routing), submit,
        wire::Verdict{std::string(Name(ErrorCode::kOverloaded)),
                      "The broker has more submitted jobs to check than it may hold; try again.",
                      std::chrono::milliseconds(kOverloadedRetryAfter).count()}));
    return;
  }
  if (now.steady < check_first_until_) {
    record_check_.Enqueue(std::move(routing), std::move(submit));
    return;
  }
  std::vector<std::string> ids;
  ids.reserve(submit.jobs.size());
  for (const auto& job : submit.jobs) ids.push_back(job.id);
  core_->OnSubmit(routing, std::move(submit), now, out);
  // Only what the core took: a refused job's record is taken out by its gateway.
  const auto& verdicts = std::get<wire::Accept>(out.to_gateways.back().message).verdicts;
  std::vector<std::string> admitted;
  for (std::size_t i = 0; i < ids.size() && i < verdicts.size(); ++i) {
    if (verdicts[i].code.empty()) admitted.push_back(std::move(ids[i]));
  }
  if (!admitted.empty()) record_check_.Audit(std::move(admitted));
}

void Broker::OnJunk(std::size_t count, Now now) {
  if (const auto held_back = bad_input_log_.Admit("frontend/junk", Clock::now())) {
    spdlog::warn(
        "frontend: {} submitted jobs have no record in Redis (a stolen gateway key, or a "
        "broken gateway); every SUBMIT is checked before it is queued for the next {} s{}",
        count, kCheckFirstFor.count(), HeldBackNote(*held_back));
  }
  check_first_until_ = now.steady + kCheckFirstFor;
}

void Broker::AdmitChecked(Now now, Effects& out) {
  record_check_.DrainWake();
  if (!lease_state_.active()) {
    record_check_.TakeMissing();  // an earlier term's jobs: the active broker audits its own
    for (auto& checked : record_check_.TakeChecked()) {
      out.to_gateways.push_back(
          RefuseAll(std::move(checked.routing), checked.submit,
                    wire::Verdict{std::string(Name(ErrorCode::kBrokerUnavailable)),
                                  "The broker stepped down before it queued these jobs; try again.",
                                  std::chrono::milliseconds(kOverloadedRetryAfter).count()}));
    }
    return;
  }
  const auto missing = record_check_.TakeMissing();
  for (const auto& id : missing) core_->OnCancel(wire::Cancel{id}, out);
  if (!missing.empty()) OnJunk(missing.size(), now);
  for (auto& checked : record_check_.TakeChecked()) {
    if (!checked.exist) {
      const Error& error = checked.exist.error();
      spdlog::warn("frontend: cannot check submitted jobs: {}", error.message);
      out.to_gateways.push_back(
          RefuseAll(std::move(checked.routing), checked.submit,
                    wire::Verdict{std::string(Name(error.code)), error.message, 0}));
      continue;
    }
    const auto junk = std::count(checked.exist->begin(), checked.exist->end(), false);
    if (junk > 0) OnJunk(static_cast<std::size_t>(junk), now);
    core_->OnSubmit(checked.routing, std::move(checked.submit), now, out, *checked.exist);
  }
}

void Broker::HandleBackend(Now now, Effects& out) {
  if (!lease_state_.active()) return AnswerAsStandby(backend_, /*frontend=*/false);
  for (int i = 0; i < kMaxMessagesPerWake; ++i) {
    auto received = ReceiveWire(backend_, /*routed=*/true);
    if (!received) return;
    if (!received->message) {
      RefuseBadMessage("backend", *received, out.to_workers);
      continue;
    }
    core_->OnWorkerMessage(received->routing, std::move(*received->message), now, out);
  }
}

void Broker::RefuseBadMessage(std::string_view port, const ReceivedWire& received,
                              std::vector<Outbound>& replies) {
  const std::string& reason = received.message.error().message;
  const std::string peer = received.peer.empty() ? "an unnamed peer" : "'" + received.peer + "'";
  if (const auto held_back = bad_input_log_.Admit(
          fmt::format("{}/{}", port, received.peer.empty() ? received.routing : received.peer),
          Clock::now())) {
    spdlog::warn("{}: dropped a bad message from {}: {}{}", port, peer, reason,
                 HeldBackNote(*held_back));
  }
  replies.push_back(
      Outbound{received.routing, wire::Disconnect{fmt::format("bad message: {}", reason)}});
}

void Broker::Apply(Effects effects, Now now) {
  while (!effects.empty()) {
    Effects next;
    for (const auto& outbound : effects.to_gateways) {
      if (!SendWire(frontend_, outbound.routing, outbound.message)) {
        // The gateway is gone; submitted jobs are durable in Redis and queued all the same.
        spdlog::warn("frontend: could not send {}", wire::CommandName(outbound.message));
      }
    }
    std::unordered_set<std::string> unreachable;
    for (const auto& outbound : effects.to_workers) {
      if (!SendWire(backend_, outbound.routing, outbound.message)) {
        core_->OnUndelivered(outbound.routing, outbound.message);
        unreachable.insert(outbound.routing);
      }
    }
    for (const auto& worker : unreachable) core_->OnWorkerUnreachable(worker, next);
    for (auto& ending : effects.endings) endings_.Enqueue(std::move(ending));
    if (!unreachable.empty()) core_->OnTick(now, next);
    effects = std::move(next);
  }
}

void Broker::Sweep(Now now, Effects& out) {
  // Jobs the gateway made durable but that never reached us (the gateway died in
  // between, or a broker before this one lost its queues).
  SweepPending(now.wall - std::chrono::duration_cast<WallMicros>(config_.sweep_grace), 0, now, out);
}

std::size_t Broker::SweepPending(WallMicros cutoff, std::size_t offset, Now now, Effects& out) {
  auto pending = store_.PendingCreatedBefore(cutoff, kSweepBatch, offset);
  if (!pending) {
    spdlog::warn("sweep: {}", pending.error().message);
    return 0;
  }
  const std::size_t read = pending->size();
  const auto unknown = core_->UnknownIds(std::move(*pending));
  if (unknown.empty()) return read;
  auto records = store_.GetMany(unknown);
  if (!records) {
    spdlog::warn("sweep: {}", records.error().message);
    return 0;
  }
  std::vector<JobRecord> found;
  std::vector<std::string> expired;  // the record expired: nothing is left to run
  found.reserve(records->size());
  for (std::size_t i = 0; i < records->size(); ++i) {
    if ((*records)[i]) {
      found.push_back(std::move(*(*records)[i]));
    } else {
      expired.push_back(unknown[i]);
    }
  }
  if (auto removed = store_.ForgetPending(expired); !removed) {
    spdlog::warn("sweep: {}", removed.error().message);
  }
  core_->OnSweep(std::move(found), now, out);
  return read;
}

void Broker::UpdateGauges(MonotonicTime now) {
  const wire::Status status = core_->BuildStatus(0, now);
  for (const auto& type : status.types) {
    metrics_.SetQueue(type.name, type.queue_depth, type.in_flight_batches);
  }
  metrics_.SetWorkersAlive(status.workers.size());
}

}  // namespace batchq
