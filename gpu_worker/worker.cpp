#include "gpu_worker/worker.h"

#include <algorithm>
#include <thread>

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "common/zmq_transport.h"

namespace batchq {
namespace {
using Clock = std::chrono::steady_clock;

// Standbys are asked again this often at most while none is active: cheap for them,
// and it bounds how late a worker joins the broker that takes over.
constexpr std::chrono::milliseconds kMaxReconnectBackoff{250};

BatchExecutor::Options ExecutorOptions(const WorkerConfig& config, WorkerMetrics& metrics) {
  auto endpoint = ResolveRedisEndpoint(config.redis_url, config.redis_password_file,
                                       config.redis_sentinel_password_file);
  if (!endpoint) throw std::runtime_error(endpoint.error().message);
  // Wrong credentials stop the worker here, at start, rather than fail every batch.
  if (auto login = RedisConnection({*endpoint}).CheckLogin(); !login) {
    throw std::runtime_error(login.error().message);
  }
  return BatchExecutor::Options{RedisConnection::Options{*endpoint},
                                JobStore::Options{config.key_prefix, config.result_ttl},
                                config.name,
                                config.fault_crash_on_input,
                                &metrics,
                                config.claim_at_write_below};
}
std::vector<std::string> TypesOf(const BatchExecutor::Handlers& handlers) {
  std::vector<std::string> types;
  for (const auto& [type, handler] : handlers) types.push_back(type);
  return types;
}

}  // namespace

Worker::Worker(const WorkerConfig& config, BatchExecutor::Handlers handlers, BackendChoice backend)
    : config_(config),
      backend_(std::move(backend)),
      types_(TypesOf(handlers)),
      context_(1),
      dealer_(context_, BrokerDealer::Options{config.broker, config.curve}),
      registry_(std::make_shared<prometheus::Registry>()),
      metrics_(*registry_),
      metrics_endpoint_(config.metrics_listen, registry_),
      executor_(ExecutorOptions(config, metrics_), std::move(handlers), done_signal_) {
  if (metrics_endpoint_.port() != 0)
    spdlog::info("worker metrics on port {}", metrics_endpoint_.port());
}

Worker::~Worker() = default;

void Worker::Announce() {
  SendWire(
      dealer_.socket(), {},
      wire::Ready{config_.name, types_, config_.credits, std::string(ToString(backend_.backend)),
                  backend_.device, backend_.memory_bytes});
  last_heard_ = Clock::now();
  welcomed_ = false;
  spdlog::info("worker {} connecting to {} ({} on {}; types {})", config_.name, dealer_.endpoint(),
               ToString(backend_.backend), backend_.device, fmt::join(types_, ","));
}

void Worker::StartOver(std::string_view why) {
  if (const auto held_back = start_over_log_.Admit("start over", Clock::now())) {
    spdlog::warn("broker {} {}; trying the next{}", dealer_.endpoint(), why,
                 HeldBackNote(*held_back));
  }
  // A full round of the list without a welcome: pause before the next, growing.
  if (++failed_in_a_row_ % dealer_.size() == 0) {
    std::this_thread::sleep_for(reconnect_backoff_);
    reconnect_backoff_ = std::min(reconnect_backoff_ * 2, kMaxReconnectBackoff);
  }
  dealer_.MoveOn();
  Announce();
}

void Worker::SendDone() {
  done_signal_.Drain();
  for (auto& done : executor_.TakeDone()) SendWire(dealer_.socket(), {}, done);
}

void Worker::HandleMessages(Clock::time_point now) {
  for (int i = 0; i < kMaxMessagesPerWake; ++i) {
    auto received = ReceiveWire(dealer_.socket(), /*routed=*/false);
    if (!received) return;
    last_heard_ = now;
    const bool farewell =
        received->message && std::holds_alternative<wire::Disconnect>(*received->message);
    if (!welcomed_ && !farewell) {
      welcomed_ = true;
      failed_in_a_row_ = 0;
      reconnect_backoff_ = std::chrono::milliseconds(100);
    }
    if (!received->message) {
      if (const auto held_back = bad_input_log_.Admit("broker", now)) {
        spdlog::warn("dropped a bad message from the broker: {}{}",
                     received->message.error().message, HeldBackNote(*held_back));
      }
      continue;
    }
    auto& message = *received->message;
    if (auto* batch = std::get_if<wire::Batch>(&message)) {
      executor_.Enqueue(std::move(*batch));
    } else if (auto* cancel = std::get_if<wire::Cancel>(&message)) {
      executor_.Cancel(cancel->id);
    } else if (auto* disconnect = std::get_if<wire::Disconnect>(&message)) {
      StartOver(fmt::format("asked us to start over: {}", disconnect->reason));
      return;
    }
    // HEARTBEAT needs nothing beyond last_heard_.
  }
}

void Worker::Run(const std::atomic<bool>& stop) {
  Announce();
  auto next_heartbeat = Clock::now() + config_.heartbeat_interval;
  const auto max_silence = config_.heartbeat_interval * config_.heartbeat_liveness;
  while (!stop.load()) {
    zmq::pollitem_t items[] = {{dealer_.socket().handle(), 0, ZMQ_POLLIN, 0},
                               {nullptr, done_signal_.fd(), ZMQ_POLLIN, 0},
                               {dealer_.watch().events().handle(), 0, ZMQ_POLLIN, 0}};
    auto timeout = std::chrono::ceil<std::chrono::milliseconds>(next_heartbeat - Clock::now());
    timeout = std::clamp(timeout, std::chrono::milliseconds(0), std::chrono::milliseconds(200));
    PollOrSignal(items, 3, timeout);
    const auto now = Clock::now();
    if (items[1].revents & ZMQ_POLLIN) SendDone();
    if (items[0].revents & ZMQ_POLLIN) HandleMessages(now);
    if ((items[2].revents & ZMQ_POLLIN) && dealer_.watch().TakeLost()) {
      // The broker's process is gone (its host closed or refused the connection): no
      // need to wait out its heartbeats.
      StartOver("closed or refused the connection");
      continue;
    }
    if (now >= next_heartbeat) {
      SendWire(dealer_.socket(), {}, wire::Heartbeat{NowWallMicros().count()});
      next_heartbeat = now + config_.heartbeat_interval;
    }
    // An active broker welcomes READY at once; silence that long means a dead or
    // unreachable one, and the next of the list may be active.
    const auto silence_limit = welcomed_ ? max_silence : config_.heartbeat_interval;
    if (now - last_heard_ > silence_limit) {
      StartOver(fmt::format("was silent for {} ms", silence_limit.count()));
    }
  }
  spdlog::info("worker {} stopping", config_.name);
  executor_.Stop();  // lets the running batch finish and be written
  SendDone();
  SendWire(dealer_.socket(), {}, wire::Disconnect{"worker stopping"});
}

}  // namespace batchq
