#include "gateway/completion_listener.h"

#include <spdlog/spdlog.h>

#include "common/thread_name.h"

namespace batchq {

CompletionListener::CompletionListener(RedisConnection::Options redis, std::string channel,
                                       CompletionWaiters& waiters, JobEventHub* hub)
    : redis_options_(std::move(redis)), channel_(std::move(channel)), waiters_(waiters), hub_(hub) {
  thread_ = std::thread([this] {
    NameThisThread("done-listener");
    Loop();
  });
}

CompletionListener::~CompletionListener() {
  stop_.store(true);
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
      waiters_.Listening(true);
      waiters_.NotifyAll();  // anything that finished while we were away
      if (hub_ != nullptr) hub_->Gap();
    }
    auto message = redis.NextMessage(100ms);
    if (!message) {
      // Waiters are woken once the subscription is back, not now: woken now, each would
      // read its job from a Redis that just went away, on an I/O thread. Until then
      // their own wait_ms timers bound them.
      spdlog::warn("completion notices interrupted: {}", message.error().message);
      // Ends may be missed from here on: the jobs known unfinished are no longer known.
      waiters_.Listening(false);
      subscribed = false;
      continue;
    }
    if (!*message) continue;
    // One notice per call of a script that queues, starts or ends jobs, and one of
    // carried records before the changes of the script that ends them.
    auto changes = ParseJobChanges(**message);
    for (const JobChange& change : changes) {
      // CarriedRecord gives null for a plain change.
      if (IsTerminal(change.status)) {
        waiters_.Notify(change.id, [&change] { return CarriedRecord(change); });
      }
    }
    // A carried record's change comes again as a plain one, which the streams get.
    std::erase_if(changes, [](const JobChange& change) { return !change.carried.empty(); });
    if (hub_ != nullptr && !changes.empty()) hub_->Publish(changes);
  }
}

}  // namespace batchq
