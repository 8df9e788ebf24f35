#include "broker/broker.h"

#include <algorithm>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/job_id.h"
#include "common/json_writer.h"
#include "common/log_context.h"
#include "common/zmq_transport.h"

namespace batchq {
namespace {

using Clock = std::chrono::steady_clock;

// Bounded work per wake-up keeps heartbeats and dispatch timely under a flood.
constexpr int kMaxMessagesPerWake = 512;

RedisConnection::Options RedisOptions(const BrokerConfig& config) {
  auto endpoint = ParseRedisUrl(config.redis_url);
  if (!endpoint) throw std::runtime_error(endpoint.error().message);
  return RedisConnection::Options{*endpoint, std::chrono::milliseconds(500),
                                  std::chrono::milliseconds(2000)};
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
      policy_(BatchPolicy::Options{config.defaults, config.aging_step}),
      redis_(RedisOptions(config)),
      store_(redis_, JobStore::Options{config.key_prefix, config.result_ttl}) {
  for (const auto& spec : config_.types) {
    auto settings = ParseTypeSettings(spec, config_.defaults);
    if (!settings) throw std::runtime_error(settings.error().message);
    policy_.Configure(*settings);
  }
  for (zmq::socket_t* socket : {&frontend_, &backend_}) {
    ApplySocketDefaults(*socket);
    // Unroutable sends fail loudly instead of vanishing, so a lost worker is noticed at once.
    socket->set(zmq::sockopt::router_mandatory, 1);
  }
  try {
    frontend_.bind(config_.frontend);
    backend_.bind(config_.backend);
  } catch (const zmq::error_t& e) {
    throw std::runtime_error(fmt::format("cannot bind broker sockets: {}", e.what()));
  }
  frontend_endpoint_ = LastEndpoint(frontend_);
  backend_endpoint_ = LastEndpoint(backend_);
  batch_prefix_ = NewJobId().substr(0, 8);
  if (!config_.ready_file.empty()) {
    WriteReadyFile(config_.ready_file, frontend_endpoint_, backend_endpoint_);
  }
  spdlog::info("broker frontend {} backend {}", frontend_endpoint_, backend_endpoint_);
  if (metrics_endpoint_.port() != 0) {
    spdlog::info("broker metrics on port {}", metrics_endpoint_.port());
  }
}

Broker::~Broker() = default;

void Broker::Run(const std::atomic<bool>& stop) {
  const auto start = Clock::now();
  next_heartbeat_ = start + config_.heartbeat_interval;
  next_sweep_ = start;  // recover what a previous broker left, right away
  while (!stop.load(std::memory_order_relaxed)) {
    MonotonicTime now = Clock::now();
    if (now >= next_heartbeat_) {
      Heartbeat(now);
      next_heartbeat_ = now + config_.heartbeat_interval;
    }
    if (now >= next_sweep_) {
      Sweep(now);
      next_sweep_ = now + config_.sweep_interval;
    }
    Dispatch(now);

    MonotonicTime wake = std::min(next_heartbeat_, next_sweep_);
    if (wake_at_) wake = std::min(wake, *wake_at_);
    // A bounded wait also bounds how long a stop request goes unnoticed.
    auto timeout = std::chrono::ceil<std::chrono::milliseconds>(wake - now);
    timeout = std::clamp(timeout, std::chrono::milliseconds(0), std::chrono::milliseconds(200));
    zmq::pollitem_t items[] = {{frontend_.handle(), 0, ZMQ_POLLIN, 0},
                               {backend_.handle(), 0, ZMQ_POLLIN, 0}};
    PollOrSignal(items, 2, timeout);
    now = Clock::now();
    if (items[1].revents & ZMQ_POLLIN) HandleBackend(now);
    if (items[0].revents & ZMQ_POLLIN) HandleFrontend(now);
  }
  spdlog::info("broker stopping; {} batches in flight return through the sweep", in_flight_.size());
}

void Broker::HandleFrontend(MonotonicTime now) {
  for (int i = 0; i < kMaxMessagesPerWake; ++i) {
    auto received = ReceiveWire(frontend_, /*routed=*/true);
    if (!received) return;
    if (!received->message) {
      spdlog::warn("frontend: dropped a bad message: {}", received->message.error().message);
      SendWire(frontend_, received->routing,
               wire::Disconnect{fmt::format("bad message: {}", received->message.error().message)});
      continue;
    }
    auto& message = *received->message;
    if (auto* submit = std::get_if<wire::Submit>(&message)) {
      OnSubmit(received->routing, std::move(*submit), now);
    } else if (auto* cancel = std::get_if<wire::Cancel>(&message)) {
      OnCancel(*cancel);
    } else if (auto* ping = std::get_if<wire::Ping>(&message)) {
      SendWire(frontend_, received->routing, BuildStatus(ping->seq));
    } else {
      spdlog::warn("frontend: unexpected {}", wire::CommandName(message));
    }
  }
}

void Broker::OnSubmit(const std::string& routing, wire::Submit submit, MonotonicTime now) {
  wire::Accept accept;
  accept.request_id = submit.request_id;
  accept.verdicts.reserve(submit.jobs.size());
  const WallMicros now_wall = NowWallMicros();
  for (auto& job : submit.jobs) {
    wire::Verdict verdict;
    if (!known_ids_.contains(job.id)) {
      QueuedJob queued{job.id, job.priority, job.attempts, std::move(job.input), now, {}};
      if (job.timeout_ms > 0) {
        // The timeout runs from the gateway's acceptance, not from our receipt.
        const auto age = now_wall - WallMicros(job.created_us);
        queued.deadline = now + std::chrono::milliseconds(job.timeout_ms) - age;
      }
      auto added = policy_.Enqueue(job.type, std::move(queued));
      metrics_.OnSubmit(job.type, added.has_value());
      if (added) {
        known_ids_.insert(std::move(job.id));
      } else {
        verdict.code = added.error().code;
        verdict.message = added.error().message;
        if (verdict.code == "queue_full") {
          verdict.retry_after_ms =
              std::chrono::milliseconds(policy_.RetryAfter(job.type, now)).count();
        }
      }
    }
    accept.verdicts.push_back(std::move(verdict));
  }
  if (!SendWire(frontend_, routing, accept)) {
    // The gateway is gone; the jobs are durable in Redis and queued here all the same.
    spdlog::warn("frontend: could not answer SUBMIT {}", submit.request_id);
  }
}

void Broker::OnCancel(const wire::Cancel& cancel) {
  // Redis already says cancelled; taking it out here keeps it from taking a batch slot.
  if (policy_.Remove(cancel.id)) known_ids_.erase(cancel.id);
}

void Broker::HandleBackend(MonotonicTime now) {
  for (int i = 0; i < kMaxMessagesPerWake; ++i) {
    auto received = ReceiveWire(backend_, /*routed=*/true);
    if (!received) return;
    const std::string& routing = received->routing;
    if (!received->message) {
      spdlog::warn("backend: dropped a bad message: {}", received->message.error().message);
      SendWire(backend_, routing,
               wire::Disconnect{fmt::format("bad message: {}", received->message.error().message)});
      continue;
    }
    auto& message = *received->message;
    if (auto* ready = std::get_if<wire::Ready>(&message)) {
      OnReady(routing, std::move(*ready), now);
      continue;
    }
    if (workers_.Find(routing) == nullptr) {
      // A worker we do not know (we restarted, or declared it dead): make it start over.
      SendWire(backend_, routing, wire::Disconnect{"unknown worker; send READY again"});
      continue;
    }
    workers_.Touch(routing, now);
    if (auto* done = std::get_if<wire::Done>(&message)) {
      OnDone(routing, *done);
    } else if (std::holds_alternative<wire::Disconnect>(message)) {
      if (auto worker = workers_.Remove(routing)) LoseWorker(std::move(*worker));
    } else if (!std::holds_alternative<wire::Heartbeat>(message)) {
      spdlog::warn("backend: unexpected {}", wire::CommandName(message));
    }
  }
}

void Broker::OnReady(const std::string& routing, wire::Ready ready, MonotonicTime now) {
  if (ready.credits == 0 || ready.types.empty()) {
    SendWire(backend_, routing, wire::Disconnect{"READY needs at least one type and one credit"});
    return;
  }
  if (auto previous = workers_.Remove(routing)) LoseWorker(std::move(*previous));
  for (const auto& type : ready.types) policy_.AddType(type);
  spdlog::info("worker {} ready: types [{}], {} credits, backend {} {}", ready.name,
               fmt::join(ready.types, ","), ready.credits, ready.backend, ready.device);
  workers_.Register(routing, std::move(ready), now);
}

void Broker::OnDone(const std::string& routing, const wire::Done& done) {
  const auto it = in_flight_.find(done.batch_id);
  if (it == in_flight_.end() || it->second.worker_routing != routing) return;
  policy_.ObserveBatch(it->second.type, done.size, std::chrono::microseconds(done.exec_us));
  for (const auto& job : it->second.jobs) {
    known_ids_.erase(job.id);
    if (!lost_runs_.empty()) lost_runs_.erase(job.id);
  }
  in_flight_.erase(it);
  if (WorkerInfo* worker = workers_.Find(routing)) {
    worker->in_flight.erase(done.batch_id);
    if (worker->in_flight.empty()) worker->exclusive = false;
    worker->free_credits = std::min(worker->free_credits + 1, worker->ready.credits);
    ++worker->batches_done;
  }
}

void Broker::Dispatch(MonotonicTime now) {
  const auto capacity = [this](std::string_view type) { return workers_.CapacityFor(type); };
  for (;;) {
    auto decision = policy_.Next(now, capacity);
    wake_at_ = decision.wake_at;
    if (!decision.expired.empty()) {
      std::vector<std::string> ids;
      for (auto& expired : decision.expired) {
        known_ids_.erase(expired.id);
        ids.push_back(std::move(expired.id));
      }
      spdlog::info("{} jobs expired before dispatch", ids.size());
      for (const auto& id : ids) {
        const ScopedLogContext log_context({}, id);
        spdlog::debug("job expired before dispatch");
      }
      EndJobs(std::move(ids), "expired", "expired",
              "The job was not dispatched before its timeout.");
    }
    if (!decision.batch) return;
    WorkerInfo* worker = decision.batch->exclusive ? workers_.PickIdleFor(decision.batch->type)
                                                   : workers_.PickFor(decision.batch->type);
    if (worker == nullptr || !SendBatch(*worker, *decision.batch)) {
      policy_.Requeue(decision.batch->type, std::move(decision.batch->jobs));
      if (worker != nullptr) {
        // The send failed: the peer is gone. Its other batches go back too.
        if (auto lost = workers_.Remove(worker->routing)) LoseWorker(std::move(*lost));
      }
    }
  }
}

bool Broker::SendBatch(WorkerInfo& worker, ReadyBatch& ready) {
  wire::Batch batch;
  batch.batch_id = fmt::format("{}-{}", batch_prefix_, ++batch_counter_);
  batch.type = ready.type;
  batch.dispatched_us = NowWallMicros().count();
  batch.close_reason = std::string(ToString(ready.reason));
  batch.jobs.reserve(ready.jobs.size());
  for (const auto& job : ready.jobs) {
    batch.jobs.push_back(wire::BatchJob{job.id, job.attempts + 1, job.input});
  }
  if (!SendWire(backend_, worker.routing, batch)) return false;
  --worker.free_credits;
  worker.exclusive = ready.exclusive;
  worker.in_flight.insert(batch.batch_id);
  const ScopedLogContext log_context(batch.batch_id);
  spdlog::debug("batch of {} x {} ({}) to {}", ready.jobs.size(), ready.type,
                ToString(ready.reason), worker.ready.name);
  const auto now = Clock::now();
  std::vector<std::chrono::microseconds> waits;
  waits.reserve(ready.jobs.size());
  for (auto& job : ready.jobs) {
    ++job.attempts;
    waits.push_back(std::chrono::duration_cast<std::chrono::microseconds>(now - job.enqueued));
  }
  metrics_.OnBatch(ready.type, batch.close_reason, waits);
  in_flight_.emplace(batch.batch_id, InFlight{worker.routing, ready.type, std::move(ready.jobs)});
  return true;
}

void Broker::Heartbeat(MonotonicTime now) {
  const auto max_silence = config_.heartbeat_interval * config_.heartbeat_liveness;
  for (auto& worker : workers_.RemoveSilent(now, max_silence)) {
    spdlog::warn("worker {} silent for {} ms: declared dead", worker.ready.name,
                 max_silence.count());
    LoseWorker(std::move(worker));
  }
  std::vector<std::string> unreachable;
  const wire::Heartbeat beat{NowWallMicros().count()};
  for (const auto& [routing, worker] : workers_.workers()) {
    if (!SendWire(backend_, routing, beat)) unreachable.push_back(routing);
  }
  for (const auto& routing : unreachable) {
    if (auto worker = workers_.Remove(routing)) LoseWorker(std::move(*worker));
  }
  RetryTerminalWrites();
  UpdateGauges();
}

void Broker::UpdateGauges() {
  std::unordered_map<std::string, std::size_t> in_flight_by_type;
  for (const auto& [id, batch] : in_flight_) ++in_flight_by_type[batch.type];
  for (const auto& stats : policy_.Stats(std::chrono::steady_clock::now())) {
    metrics_.SetQueue(stats.settings.name, stats.depth, in_flight_by_type[stats.settings.name]);
  }
  metrics_.SetWorkersAlive(workers_.workers().size());
}

void Broker::LoseWorker(WorkerInfo worker) {
  // Which of its batches the worker was running cannot be known from here (its last
  // words may not have left the process), so every job it held counts one lost run and
  // becomes a suspect; a suspect then runs alone on an idle worker, where a crash is
  // its own. A good job is thus blamed at most once, a poison job every time.
  for (const auto& batch_id : worker.in_flight) {
    auto node = in_flight_.extract(batch_id);
    if (node.empty()) continue;
    InFlight& lost = node.mapped();
    std::vector<QueuedJob> retry;
    std::vector<std::string> failed;
    for (auto& job : lost.jobs) {
      if (++lost_runs_[job.id] >= config_.max_attempts) {
        lost_runs_.erase(job.id);
        known_ids_.erase(job.id);
        failed.push_back(std::move(job.id));
      } else {
        // It was dispatched in time; its dispatch deadline no longer applies.
        job.deadline.reset();
        job.suspect = true;
        retry.push_back(std::move(job));
      }
    }
    const ScopedLogContext log_context(batch_id);
    for (const auto& id : failed) {
      const ScopedLogContext job_context({}, id);
      spdlog::warn("job failed: its worker was lost {} times in a row", config_.max_attempts);
    }
    if (!failed.empty()) {
      EndJobs(std::move(failed), "failed", "worker_lost",
              fmt::format("The job's worker was lost {} times in a row.", config_.max_attempts));
    }
    spdlog::warn("batch lost with worker {}: {} jobs re-queued", worker.ready.name, retry.size());
    policy_.Requeue(lost.type, std::move(retry));
  }
}

void Broker::EndJobs(std::vector<std::string> ids, std::string status, std::string code,
                     std::string message) {
  metrics_.OnJobsEnded(code, ids.size());
  terminal_writes_.push_back(
      TerminalWrite{std::move(ids), std::move(status), std::move(code), std::move(message)});
  RetryTerminalWrites();
}

void Broker::RetryTerminalWrites() {
  while (!terminal_writes_.empty()) {
    const TerminalWrite& write = terminal_writes_.front();
    auto written = store_.Terminate(write.ids, write.status, write.code, write.message);
    if (!written) {
      spdlog::warn("cannot record {} {} jobs yet: {}", write.ids.size(), write.status,
                   written.error().message);
      return;
    }
    terminal_writes_.erase(terminal_writes_.begin());
  }
}

void Broker::Sweep(MonotonicTime now) {
  // Jobs the gateway made durable but that never reached us (the gateway died in
  // between, or this broker restarted and lost its queues).
  const auto cutoff = NowWallMicros() - std::chrono::duration_cast<WallMicros>(config_.sweep_grace);
  auto ids = store_.PendingCreatedBefore(cutoff, 1000);
  if (!ids) {
    spdlog::warn("sweep: {}", ids.error().message);
    return;
  }
  std::vector<std::string> unknown;
  for (auto& id : *ids) {
    if (!known_ids_.contains(id)) unknown.push_back(std::move(id));
  }
  if (unknown.empty()) return;
  auto records = store_.GetMany(unknown);
  if (!records) {
    spdlog::warn("sweep: {}", records.error().message);
    return;
  }
  std::size_t recovered = 0;
  const WallMicros now_wall = NowWallMicros();
  const auto lease = std::chrono::duration_cast<WallMicros>(config_.running_lease);
  for (auto& record : *records) {
    if (!record) continue;
    const bool queued = record->status == "queued";
    const bool abandoned = record->status == "running" && now_wall - record->started > lease;
    if (!queued && !abandoned) continue;
    if (abandoned && record->attempts >= config_.max_attempts) {
      EndJobs({record->id}, "failed", "worker_lost",
              fmt::format("The job's worker was lost {} times in a row.", config_.max_attempts));
      continue;
    }
    known_ids_.insert(record->id);
    QueuedJob job{record->id, record->priority, record->attempts, std::move(record->input), now,
                  {}};
    if (queued && record->timeout_ms > 0) {  // a job that ran was dispatched in time
      const auto age = now_wall - record->created;
      job.deadline = now + std::chrono::milliseconds(record->timeout_ms) - age;
    }
    policy_.Requeue(record->type, {std::move(job)});
    ++recovered;
  }
  if (recovered > 0) spdlog::info("sweep: recovered {} jobs from Redis", recovered);
}

wire::Status Broker::BuildStatus(std::uint64_t seq) const {
  wire::Status status;
  status.seq = seq;
  std::unordered_map<std::string, std::uint32_t> in_flight_by_type;
  for (const auto& [id, batch] : in_flight_) ++in_flight_by_type[batch.type];
  for (const auto& stats : policy_.Stats(std::chrono::steady_clock::now())) {
    const auto& settings = stats.settings;
    wire::TypeStatus type;
    type.name = settings.name;
    type.max_batch_size = settings.max_batch_size;
    type.max_delay_us = settings.max_delay.count();
    type.max_queue = settings.max_queue;
    type.queue_depth = stats.depth;
    type.in_flight_batches = in_flight_by_type[settings.name];
    type.workers = workers_.CountServing(settings.name);
    type.oldest_wait_us = stats.oldest_wait.count();
    type.cost_fixed_us = stats.cost_fixed_us;
    type.cost_per_item_us = stats.cost_per_item_us;
    type.arrivals_per_s = stats.arrivals_per_s;
    type.dispatched_per_s = stats.dispatched_per_s;
    type.adaptive = settings.adaptive;
    type.preferred_batch_sizes = settings.preferred_batch_sizes;
    type.max_batch_bytes = settings.max_batch_bytes;
    type.default_timeout_ms = settings.default_timeout.count();
    type.batch_sizes.assign(stats.batch_sizes.begin(), stats.batch_sizes.end());
    status.types.push_back(std::move(type));
  }
  for (const auto& [routing, worker] : workers_.workers()) {
    status.workers.push_back(
        wire::WorkerStatus{worker.ready.name, worker.ready.types, worker.ready.backend,
                           worker.ready.device, worker.ready.credits, worker.free_credits,
                           worker.batches_done, worker.ready.device_memory_bytes});
  }
  return status;
}

}  // namespace batchq
