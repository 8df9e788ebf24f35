#include "gateway/webhook_sender.h"

#include <optional>
#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/thread_name.h"
#include "common/wall_clock.h"
#include "gateway/webhook_message.h"
#include "gateway/webhook_post.h"

namespace batchq {
namespace {

double Jitter() {
  thread_local std::mt19937 random{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.5, 1.0)(random);
}

std::string Describe(const WebhookPostResult& result) {
  if (!result.error.empty()) return result.error;
  return fmt::format("The receiver answered HTTP {}.", result.outcome.status.value_or(0));
}

}  // namespace

WebhookSender::WebhookSender(Options options, RedisConnection::Options redis, JobStorePort& jobs,
                             KeyStorePort& keys, prometheus::Registry& metrics)
    : options_(std::move(options)),
      redis_(std::move(redis)),
      jobs_(jobs),
      keys_(keys),
      outcomes_(prometheus::BuildCounter()
                    .Name("batchq_webhook_tries_total")
                    .Help("Webhook delivery tries by this gateway, by verdict: delivered, "
                          "retrying, failed (dead; GET /v1/webhooks/deliveries?state=failed)")
                    .Register(metrics)) {
  for (const char* verdict : {"delivered", "retrying", "failed"})
    outcomes_.Add({{"verdict", verdict}});
  for (unsigned i = 0; i < options_.threads; ++i)
    threads_.emplace_back([this] {
      NameThisThread("webhook-send");
      Run();
    });
}

WebhookSender::~WebhookSender() { Stop(); }

void WebhookSender::RequestStop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  watch_.notify_all();
  called_.notify_all();
}

void WebhookSender::Stop() {
  RequestStop();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

void WebhookSender::Rest() {
  std::unique_lock lock(mutex_);
  if (!watched_) {
    watched_ = true;
    watch_.wait_for(lock, options_.poll, [this] { return stopping_.load(); });
    watched_ = false;
    return;
  }
  ++waiting_;
  called_.wait(lock, [this] { return stopping_.load() || calls_ > 0; });
  --waiting_;
  if (calls_ > 0) --calls_;
}

void WebhookSender::Call() {
  {
    std::lock_guard lock(mutex_);
    // Only a sender resting now can take a call: one made while every other sender
    // works is not saved up (each looks again when its batch is done).
    if (calls_ >= waiting_) return;
    ++calls_;
  }
  called_.notify_one();
}

void WebhookSender::Run() {
  RedisConnection redis(redis_);
  WebhookStore hooks(redis, options_.key_prefix, options_.keep);
  // Long enough for every claimed delivery's try, so that no other sender takes one
  // still being tried.
  const auto lease =
      options_.timeout * static_cast<long>(options_.claim_batch) + std::chrono::seconds(10);
  while (!stopping_) {
    auto due = hooks.ClaimDue(NowWallMicros(), lease, options_.claim_batch);
    if (!due) {
      LogClaimFailure(due.error().message);
      Rest();
      continue;
    }
    // Work was found: another sender takes over the watch while this one delivers
    // (a slow receiver may hold it for `timeout`), or claims the rest.
    if (!due->empty()) Call();
    for (const DueDelivery& delivery : *due) {
      if (stopping_) break;  // the rest come back when their lease ends
      Deliver(hooks, delivery);
    }
    if (due->size() < options_.claim_batch) Rest();
  }
}

void WebhookSender::LogClaimFailure(const std::string& why) {
  std::optional<std::uint64_t> held_back;
  {
    std::lock_guard lock(mutex_);
    held_back = claim_failure_log_.Admit("claim", LogThrottle::Clock::now());
  }
  if (held_back) {
    spdlog::warn("webhooks: cannot claim due deliveries: {}{}", why, HeldBackNote(*held_back));
  }
}

void WebhookSender::Deliver(WebhookStore& hooks, const DueDelivery& delivery) {
  auto job = jobs_.Get(delivery.job_id);
  if (!job) return;  // Redis is away: the lease brings the delivery back
  Result<std::optional<KeyRecord>> key = std::optional<KeyRecord>();
  if (*job) key = keys_.GetKey((**job).webhook_key);
  if (!key) return;
  const WallMicros now = NowWallMicros();
  const std::uint32_t tries = delivery.tries + 1;
  auto message = BuildWebhookMessage(delivery, *job, *key,
                                     std::chrono::duration_cast<std::chrono::seconds>(now));
  Status stored = Ok();
  DeliveryState state = DeliveryState::kFailed;
  if (!message) {
    stored = hooks.MarkFailed(delivery, tries, message.error().message, now);
  } else {
    const auto result = PostWebhook(message->url, options_.allow, message->body, message->headers,
                                    options_.timeout);
    const auto verdict = Judge(options_.policy, result.outcome, tries, Jitter());
    state = verdict.state;
    const WallMicros after = NowWallMicros();
    if (state == DeliveryState::kDelivered) {
      stored = hooks.MarkDelivered(delivery, after);
    } else if (state == DeliveryState::kRetrying) {
      stored = hooks.RetryLater(delivery, tries, Describe(result), after + verdict.retry_in);
    } else {
      stored = hooks.MarkFailed(delivery, tries, Describe(result), after);
    }
  }
  if (!stored) {
    spdlog::warn("webhooks: the verdict on {} was not recorded (it will be tried again): {}",
                 delivery.id, stored.error().message);
  }
  const char* name = state == DeliveryState::kDelivered  ? "delivered"
                     : state == DeliveryState::kRetrying ? "retrying"
                                                         : "failed";
  outcomes_.Add({{"verdict", name}}).Increment();
}

}  // namespace batchq
