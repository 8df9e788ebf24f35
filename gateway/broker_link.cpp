#include "gateway/broker_link.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/zmq_transport.h"

namespace batchq {
namespace {
using Clock = std::chrono::steady_clock;

std::int64_t ToNanos(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
}  // namespace

BrokerLink::BrokerLink(zmq::context_t& context, Options options)
    : options_(std::move(options)),
      socket_(context, zmq::socket_type::dealer),
      status_(std::make_shared<wire::Status>()) {
  ApplySocketDefaults(socket_);
  // Without a live connection, sends fail at once instead of queueing for a broker
  // that may never come.
  socket_.set(zmq::sockopt::immediate, 1);
  socket_.set(zmq::sockopt::reconnect_ivl, 100);
  socket_.set(zmq::sockopt::reconnect_ivl_max, 2000);
  if (options_.curve) UseCurveClient(socket_, *options_.curve);
  socket_.connect(options_.endpoint);
  thread_ = std::thread([this] { Loop(); });
}

BrokerLink::~BrokerLink() {
  stop_.store(true);
  wake_.Notify();
  thread_.join();
  for (auto& [id, pending] : pending_) {
    pending.done(Fail(ErrorCode::kBrokerTimeout, "The gateway is shutting down."));
  }
  for (auto& outgoing : outgoing_) {
    outgoing.done(Fail(ErrorCode::kBrokerTimeout, "The gateway is shutting down."));
  }
}

void BrokerLink::Submit(std::vector<wire::SubmitJob> jobs, std::chrono::milliseconds timeout,
                        SubmitCallback done) {
  {
    std::lock_guard lock(mutex_);
    outgoing_.push_back(
        Outgoing{wire::Submit{0, std::move(jobs)}, Clock::now() + timeout, std::move(done)});
  }
  wake_.Notify();
}

void BrokerLink::Cancel(std::string id) {
  {
    std::lock_guard lock(mutex_);
    cancels_.push_back(std::move(id));
  }
  wake_.Notify();
}

bool BrokerLink::alive() const {
  const auto last = last_status_ns_.load(std::memory_order_relaxed);
  if (last == 0) return false;
  const auto window = std::chrono::duration_cast<std::chrono::nanoseconds>(options_.ping_interval *
                                                                           options_.liveness);
  return ToNanos(Clock::now()) - last <= window.count();
}

std::shared_ptr<const wire::Status> BrokerLink::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

void BrokerLink::Loop() {
  auto next_ping = Clock::now();
  while (!stop_.load()) {
    auto now = Clock::now();
    if (now >= next_ping) {
      SendWire(socket_, {}, wire::Ping{++ping_seq_});
      next_ping = now + options_.ping_interval;
    }
    FlushOutgoing();
    ExpirePending(now);
    zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0},
                               {nullptr, wake_.fd(), ZMQ_POLLIN, 0}};
    auto timeout = std::chrono::ceil<std::chrono::milliseconds>(next_ping - Clock::now());
    timeout = std::clamp(timeout, std::chrono::milliseconds(0), std::chrono::milliseconds(50));
    PollOrSignal(items, 2, timeout);
    if (items[1].revents & ZMQ_POLLIN) wake_.Drain();
    if (items[0].revents & ZMQ_POLLIN) DrainReplies();
  }
}

void BrokerLink::FlushOutgoing() {
  std::vector<Outgoing> batch;
  std::vector<std::string> cancels;
  {
    std::lock_guard lock(mutex_);
    batch.swap(outgoing_);
    cancels.swap(cancels_);
  }
  // A lost cancel only costs a batch slot: the worker skips a job Redis says is cancelled.
  for (auto& id : cancels) SendWire(socket_, {}, wire::Cancel{std::move(id)});
  for (auto& outgoing : batch) {
    const std::uint64_t id = next_request_id_++;
    outgoing.submit.request_id = id;
    if (!SendWire(socket_, {}, outgoing.submit)) {
      outgoing.done(Fail(ErrorCode::kBrokerUnavailable, "The broker is not connected."));
      continue;
    }
    pending_.emplace(id, Pending{outgoing.deadline, std::move(outgoing.done)});
  }
}

void BrokerLink::ExpirePending(Clock::time_point now) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (now >= it->second.deadline) {
      it->second.done(Fail(ErrorCode::kBrokerTimeout, "The broker did not answer in time."));
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
}

void BrokerLink::DrainReplies() {
  for (int i = 0; i < kMaxMessagesPerWake; ++i) {
    auto received = ReceiveWire(socket_, /*routed=*/false);
    if (!received) return;
    if (!received->message) {
      if (const auto held_back = bad_input_log_.Admit("broker", std::chrono::steady_clock::now())) {
        spdlog::warn("broker link: bad message: {}{}", received->message.error().message,
                     HeldBackNote(*held_back));
      }
      continue;
    }
    auto& message = *received->message;
    if (auto* accept = std::get_if<wire::Accept>(&message)) {
      auto node = pending_.extract(accept->request_id);
      if (!node.empty()) node.mapped().done(std::move(accept->verdicts));
    } else if (auto* status = std::get_if<wire::Status>(&message)) {
      last_status_ns_.store(ToNanos(Clock::now()), std::memory_order_relaxed);
      auto snapshot = std::make_shared<const wire::Status>(std::move(*status));
      std::lock_guard lock(mutex_);
      status_ = std::move(snapshot);
    } else if (auto* disconnect = std::get_if<wire::Disconnect>(&message)) {
      spdlog::warn("broker link: broker refused a message: {}", disconnect->reason);
    }
  }
}

}  // namespace batchq
