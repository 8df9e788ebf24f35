#pragma once
// Sends the webhook deliveries the job store's ending scripts queue: a few sender
// threads (not one per delivery) each claim due deliveries from Redis under a lease,
// build the signed message (webhook_message.h), POST it (webhook_post.h) and record the
// delivery policy's verdict (delivered, tried again later, dead). Every gateway runs
// one; the lease keeps two from sending the same delivery at once, and a delivery whose
// gateway died mid-try comes back when its lease ends (at least once).
// While idle, one sender (the watcher) looks for due deliveries every `poll`, and the
// others wait to be called: every gateway looks, and most of the time nothing is due.
// A sender that finds work calls one more, which takes over the watch or helps; so
// while deliveries keep coming every sender works, and a sender held by a slow receiver
// (up to `timeout` a try) holds up only the deliveries it claimed, as before.
// Thread-safe; Stop() (or the destructor) waits for the tries in progress, each bounded
// by `timeout`.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include "common/log_throttle.h"
#include "common/redis_connection.h"
#include "common/webhook_store.h"
#include "gateway/delivery_policy.h"
#include "gateway/destination_allow_list.h"
#include "gateway/job_store_port.h"
#include "gateway/key_store_port.h"

namespace batchq {

class WebhookSender {
 public:
  struct Options {
    DestinationAllowList allow;
    DeliveryPolicy policy;
    unsigned threads = 2;
    std::chrono::milliseconds timeout{10000};  // one try, from resolving to the answer
    std::chrono::milliseconds poll{200};
    std::size_t claim_batch = 4;  // deliveries one sender claims at a time
    std::string key_prefix = "bq:";
    std::chrono::seconds keep{std::chrono::hours(24)};  // delivered and dead ones
  };

  // Claims and verdicts go through a Redis connection per sender thread; records and
  // keys are read through `jobs` and `keys`, which must be safe to call from those
  // threads and outlive the sender. Starts the threads.
  WebhookSender(Options options, RedisConnection::Options redis, JobStorePort& jobs,
                KeyStorePort& keys, prometheus::Registry& metrics);
  ~WebhookSender();
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  // Takes no new delivery from now on; returns at once (Stop() waits).
  void RequestStop();
  void Stop();

 private:
  void Run();
  void Deliver(WebhookStore& hooks, const DueDelivery& delivery);
  // Waits up to `poll` as the watcher, or, while another sender watches, until called
  // (Call()); either ends at Stop().
  void Rest();
  // Wakes one resting sender.
  void Call();
  // While Redis is away every sender fails to claim on every poll: one line per 5 s
  // for them all, with the count of those held back.
  void LogClaimFailure(const std::string& why);

  const Options options_;
  const RedisConnection::Options redis_;
  JobStorePort& jobs_;
  KeyStorePort& keys_;
  prometheus::Family<prometheus::Counter>& outcomes_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;                // for Rest() and Call(), and for claim_failure_log_
  std::condition_variable watch_;   // the watcher's rest
  std::condition_variable called_;  // the other resting senders'
  bool watched_ = false;            // a sender rests as the watcher
  std::size_t waiting_ = 0;         // senders resting until called
  std::size_t calls_ = 0;           // calls made to them and not yet taken
  LogThrottle claim_failure_log_{std::chrono::seconds(5)};
  std::vector<std::thread> threads_;
};

}  // namespace batchq
