#include "gateway/completion_listener.h"

#include <spdlog/spdlog.h>

#include "common/thread_name.h"

namespace batchq {

CompletionListener::CompletionListener(RedisConnection::Options redis, std::string channel,
                                       CompletionWaiters& waiters, JobEventHub* hub,
                                       ProgressFeed progress, RecentEndings* endings)
    : redis_options_(std::move(redis)),
      channel_(std::move(channel)),
      waiters_(waiters),
      hub_(hub),
      endings_(endings),
      progress_(std::move(progress)) {
  thread_ = std::thread([this] {
    NameThisThread("done-listener");
    Loop();
  });
}

CompletionListener::~CompletionListener() {
  stop_.store(true);
  wake_.Notify();
  thread_.join();
}

void CompletionListener::Loop() {
  using namespace std::chrono_literals;
  RedisConnection redis(redis_options_);
  bool subscribed = false;
  while (!stop_.load()) {
    // Heartbeats go on while Redis is away: the streams stay open for what follows.
    if (hub_ != nullptr) hub_->Tick(std::chrono::steady_clock::now());
    if (!subscribed) {
      if (auto status = redis.Subscribe(channel_); !status) {
        std::this_thread::sleep_for(200ms);  // Redis is down; retry at a calm pace
        continue;
      }
      subscribed = true;
      progress_asked_ = false;
      progress_unconfirmed_ = 0;
      // A new connection asks again: the ACL may have been mended meanwhile.
      if (progress_.demand != nullptr) progress_.demand->Refused(false);
      waiters_.Listening(true);
      waiters_.NotifyAll();  // anything that finished while we were away
      gap_owed_ = true;
    }
    Result<std::optional<RedisConnection::PubSubEvent>> event =
        Fail(ErrorCode::kRedisUnavailable, "Could not subscribe to the progress channel.");
    if (FollowDemand(redis)) {
      // The streams hear of the gap once every channel they read flows again: told
      // before, they could miss a change between the telling and the subscription.
      if (gap_owed_ && progress_unconfirmed_ == 0) {
        gap_owed_ = false;
        if (hub_ != nullptr) hub_->Gap();
      }
      event = redis.NextEvent(TurnAtMost(), wake_.fd());
    }
    if (!event) {
      // Waiters are woken once the subscription is back, not now: woken now, each would
      // read its job from a Redis that just went away, on an I/O thread. Until then
      // their own wait_ms timers bound them.
      spdlog::warn("completion notices interrupted: {}", event.error().message);
      // Ends may be missed from here on: the jobs known unfinished are no longer known.
      waiters_.Listening(false);
      if (progress_.demand != nullptr) progress_.demand->Flowing(false);
      subscribed = false;
      continue;
    }
    if (!*event) continue;
    switch ((*event)->kind) {
      case RedisConnection::PubSubEvent::Kind::kWoken:
        wake_.Drain();
        break;
      case RedisConnection::PubSubEvent::Kind::kMessage:
        OnMessage((*event)->payload);
        break;
      default:
        OnConfirmation(**event);
    }
  }
}

std::chrono::milliseconds CompletionListener::TurnAtMost() const {
  using namespace std::chrono_literals;
  // Streams need their heartbeats, and a lingering demand its end, in time. Without
  // either, nothing here is due by the clock: a notice, a stream's Await (which wakes
  // the listener) and the stop all end the wait, so the one-second bound is a backstop.
  const bool streams = hub_ != nullptr && hub_->watchers() > 0;
  return streams || progress_asked_ ? 100ms : 1000ms;
}

bool CompletionListener::FollowDemand(RedisConnection& redis) {
  if (progress_.demand == nullptr) return true;
  const std::size_t streams = hub_ != nullptr ? hub_->watchers() : 0;
  const bool wanted = progress_.demand->Wanted(std::chrono::steady_clock::now(), streams);
  if (wanted == progress_asked_) return true;
  const auto what = wanted ? RedisConnection::Subscription::kSubscribe
                           : RedisConnection::Subscription::kUnsubscribe;
  if (!redis.SendSubscription(what, progress_.channel)) return false;
  progress_asked_ = wanted;
  ++progress_unconfirmed_;
  return true;
}

void CompletionListener::OnConfirmation(const RedisConnection::PubSubEvent& event) {
  if (progress_.demand == nullptr) return;
  if (event.kind == RedisConnection::PubSubEvent::Kind::kRefused) {
    // Only the progress channel is asked for after the first SUBSCRIBE, so this is its.
    // It stays refused until the connection is made again: streams start at once and
    // miss jobs queued and started, while the endings still flow.
    progress_.demand->Refused(true);
    spdlog::warn(
        "Redis refused the {} channel to the gateway ({}); regenerate the ACL file "
        "(scripts/make_redis_users.sh) so that event streams see jobs queued and started",
        progress_.channel, event.payload);
    --progress_unconfirmed_;
    return;
  }
  if (event.channel != progress_.channel) return;
  // Redis confirms in order, so the last one confirmed says where the channel stands.
  if (--progress_unconfirmed_ == 0 && progress_asked_) progress_.demand->Flowing(true);
}

void CompletionListener::OnMessage(const std::string& payload) {
  // One notice per call of a script that queues, starts or ends jobs, and one of
  // carried records before the changes of the script that ends them.
  const auto changes = ParseJobChangeViews(payload);
  const auto now = std::chrono::steady_clock::now();
  for (const JobChangeView& change : changes) {
    if (!IsTerminal(change.status)) continue;
    // Parsed once at most, for the waiters and the endings both; CarriedRecord gives null
    // for a plain change.
    std::shared_ptr<const JobRecord> record;
    bool parsed = false;
    const auto source = [&] {
      if (!parsed) record = CarriedRecord(change);
      parsed = true;
      return record;
    };
    // Kept only when nobody waited: a client that long-polled has its answer already.
    const bool unheard_here = waiters_.Notify(change.id, source);
    if (unheard_here && endings_ != nullptr && change.status == JobStatus::kSucceeded) {
      endings_->Keep(source(), now);
    }
  }
  // Copied only for open streams. A carried record's change comes again as a plain one,
  // which the streams get.
  if (hub_ == nullptr || hub_->watchers() == 0) return;
  std::vector<JobChange> plain;
  for (const JobChangeView& change : changes) {
    if (change.carried.empty()) plain.push_back(change.Owned());
  }
  if (!plain.empty()) hub_->Publish(plain);
}

}  // namespace batchq
