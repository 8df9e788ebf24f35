#include "gateway/completion_listener.h"

#include <spdlog/spdlog.h>

namespace batchq {

CompletionListener::CompletionListener(RedisConnection::Options redis, std::string channel,
                                       CompletionWaiters& waiters)
    : redis_options_(std::move(redis)), channel_(std::move(channel)), waiters_(waiters) {
  thread_ = std::thread([this] { Loop(); });
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
    if (!subscribed) {
      if (auto status = redis.Subscribe(channel_); !status) {
        std::this_thread::sleep_for(200ms);  // Redis is down; retry at a calm pace
        continue;
      }
      subscribed = true;
      waiters_.NotifyAll();  // anything that finished while we were away
    }
    auto message = redis.NextMessage(100ms);
    if (!message) {
      // Waiters are woken once the subscription is back, not now: woken now, each would
      // read its job from a Redis that just went away, on an I/O thread. Until then
      // their own wait_ms timers bound them.
      spdlog::warn("completion notices interrupted: {}", message.error().message);
      subscribed = false;
      continue;
    }
    if (!*message) continue;
    // One notice per finished batch: the job ids, comma-separated.
    std::string_view ids = **message;
    while (!ids.empty()) {
      const auto comma = ids.find(',');
      waiters_.Notify(ids.substr(0, comma));
      ids = comma == std::string_view::npos ? std::string_view{} : ids.substr(comma + 1);
    }
  }
}

}  // namespace batchq
