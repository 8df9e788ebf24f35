#include "gateway/broker_link.h"

#include <algorithm>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "common/thread_name.h"
#include "common/zmq_transport.h"

namespace batchq {
namespace {
using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kMoveOnPause{50};
}  // namespace

BrokerLink::BrokerLink(zmq::context_t& context, Options options)
    : options_(std::move(options)),
      dealer_(context,
              BrokerDealer::Options{options_.endpoint, options_.curve, /*immediate=*/true}),
      liveness_(options_.ping_interval, options_.liveness, Clock::now()),
      pacing_(dealer_.size(), options_.move_pause, options_.max_move_pause),
      status_(std::make_shared<wire::Status>()) {
  thread_ = std::thread([this] {
    NameThisThread("broker-link");
    Loop();
  });
}

void BrokerLink::MoveOn(std::string_view why, Clock::time_point now) {
  if (!pacing_.MayMove(now)) {
    move_why_ = std::string(why);
    return;
  }
  move_why_.reset();
  const std::string from = dealer_.endpoint();
  // Requests sent to the broker left behind time out; their jobs are durable in Redis,
  // where the active broker's sweep finds them.
  dealer_.MoveOn();
  pacing_.OnMoved(now);
  ++moves_;
  liveness_.Reset(now);
  if (const auto held_back = bad_input_log_.Admit("move", Clock::now())) {
    spdlog::warn("broker link: {} {}; trying {}{}", from, why, dealer_.endpoint(),
                 HeldBackNote(*held_back));
  }
  // Ask the new one soon whether it is active, but not at once: while no broker is
  // active (Redis away), every one answers "standing by", and moving on at the speed of
  // their answers would spin.
  next_ping_ = now + std::min<std::chrono::milliseconds>(options_.ping_interval, kMoveOnPause);
}

void BrokerLink::MoveIfDue(Clock::time_point now) {
  if (!move_why_ || !pacing_.MayMove(now)) return;
  // Taken out first: MoveOn clears move_why_, and `why` must outlive that.
  const std::string why = std::move(*move_why_);
  MoveOn(why, now);
}

BrokerLink::~BrokerLink() {
  stop_.store(true);
  wake_.Notify();
  thread_.join();
  const Error stopping{ErrorCode::kBrokerTimeout, "The gateway is shutting down."};
  for (auto& [id, pending] : pending_) pending.Answer(std::unexpected(stopping));
  for (auto& outgoing : outgoing_) outgoing.done(std::unexpected(stopping));
}

namespace {
// The calling thread's burst: the link it is of, how deep, and what it holds back.
struct Burst {
  const BrokerLink* link = nullptr;
  int depth = 0;
  std::vector<SubmitRequest> held;
};
thread_local Burst t_burst;
}  // namespace

void BrokerLink::Submit(std::vector<wire::SubmitJob> jobs, std::chrono::milliseconds timeout,
                        SubmitCallback done) {
  SubmitRequest request{std::move(jobs), Clock::now() + timeout, std::move(done)};
  if (t_burst.link == this) {
    t_burst.held.push_back(std::move(request));
    return;
  }
  {
    std::lock_guard lock(mutex_);
    outgoing_.push_back(std::move(request));
  }
  wake_.Notify();
}

void BrokerLink::BeginBurst() {
  if (t_burst.depth++ == 0) t_burst.link = this;
}

void BrokerLink::EndBurst() {
  if (t_burst.depth == 0 || --t_burst.depth > 0 || t_burst.link != this) return;
  t_burst.link = nullptr;
  if (t_burst.held.empty()) return;
  {
    std::lock_guard lock(mutex_);
    for (auto& request : t_burst.held) outgoing_.push_back(std::move(request));
  }
  t_burst.held.clear();
  wake_.Notify();
}

void BrokerLink::Cancel(std::string id) {
  {
    std::lock_guard lock(mutex_);
    cancels_.push_back(std::move(id));
  }
  wake_.Notify();
}

bool BrokerLink::alive() const { return liveness_.Alive(Clock::now()); }

std::shared_ptr<const wire::Status> BrokerLink::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

void BrokerLink::Loop() {
  next_ping_ = Clock::now();
  while (!stop_.load()) {
    auto now = Clock::now();
    MoveIfDue(now);
    if (now >= next_ping_) {
      if (liveness_.Silent(now)) MoveOn("is silent", now);
      SendWire(dealer_.socket(), {}, wire::Ping{++ping_seq_});
      liveness_.OnPingSent();
      next_ping_ = now + options_.ping_interval;
    }
    FlushOutgoing();
    const auto next_deadline = ExpirePending(now);
    zmq::pollitem_t items[] = {{dealer_.socket().handle(), 0, ZMQ_POLLIN, 0},
                               {nullptr, wake_.fd(), ZMQ_POLLIN, 0},
                               {dealer_.watch().events().handle(), 0, ZMQ_POLLIN, 0}};
    // Asleep until the next thing due (a ping, a paced move, a request's deadline) or
    // a wake-up: everything else that needs the link (a submit, a cancel, the stop)
    // wakes it. An idle gateway's link turns twice a ping, not every few milliseconds.
    auto wake_at = next_ping_;
    if (move_why_) wake_at = std::min(wake_at, pacing_.next_allowed());
    if (next_deadline) wake_at = std::min(wake_at, *next_deadline);
    auto timeout = std::chrono::ceil<std::chrono::milliseconds>(wake_at - Clock::now());
    PollOrSignal(items, 3, std::max(timeout, std::chrono::milliseconds(0)));
    if (items[1].revents & ZMQ_POLLIN) wake_.Drain();
    if (items[0].revents & ZMQ_POLLIN) DrainReplies();
    if ((items[2].revents & ZMQ_POLLIN) && dealer_.watch().TakeLost()) {
      MoveOn("closed or refused the connection", Clock::now());
    }
  }
}

void BrokerLink::FlushOutgoing() {
  std::vector<SubmitRequest> batch;
  std::vector<std::string> cancels;
  {
    std::lock_guard lock(mutex_);
    batch.swap(outgoing_);
    cancels.swap(cancels_);
  }
  // A lost cancel only costs a batch slot: the worker skips a job Redis says is cancelled.
  for (auto& id : cancels) SendWire(dealer_.socket(), {}, wire::Cancel{std::move(id)});
  if (batch.empty()) return;
  for (auto& packed : PackSubmits(std::move(batch), SubmitPackingLimits{})) {
    const std::uint64_t id = next_request_id_++;
    packed.submit.request_id = id;
    if (!SendWire(dealer_.socket(), {}, packed.submit)) {
      packed.requests.Answer(Fail(ErrorCode::kBrokerUnavailable, "The broker is not connected."));
      continue;
    }
    pending_.emplace(id, std::move(packed.requests));
  }
}

std::optional<Clock::time_point> BrokerLink::ExpirePending(Clock::time_point now) {
  const Error late{ErrorCode::kBrokerTimeout, "The broker did not answer in time."};
  std::optional<Clock::time_point> next;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (const auto due = it->second.Expire(now, late)) next = next ? std::min(*next, *due) : due;
    it = it->second.answered() ? pending_.erase(it) : std::next(it);
  }
  return next;
}

void BrokerLink::DrainReplies() {
  for (int i = 0; i < kMaxMessagesPerWake; ++i) {
    auto received = ReceiveWire(dealer_.socket(), /*routed=*/false);
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
      if (!node.empty()) node.mapped().Answer(std::move(accept->verdicts));
    } else if (auto* status = std::get_if<wire::Status>(&message)) {
      if (!status->active) {
        MoveOn("stands by", Clock::now());
        return;  // what is left on the old socket is gone with it (if it moved)
      }
      liveness_.OnStatus(Clock::now());
      pacing_.OnAnswered();
      move_why_.reset();  // it answers here: nothing to move for
      auto snapshot = std::make_shared<const wire::Status>(std::move(*status));
      std::lock_guard lock(mutex_);
      status_ = std::move(snapshot);
    } else if (auto* disconnect = std::get_if<wire::Disconnect>(&message)) {
      spdlog::warn("broker link: broker refused a message: {}", disconnect->reason);
    }
  }
}

}  // namespace batchq
