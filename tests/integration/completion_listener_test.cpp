// CompletionListener against a real redis-server that goes away and comes back: long-poll
// waiters are not woken while Redis is gone (each would read a job from a Redis that is
// not there, on an I/O thread), and are woken once the subscription is back, since
// notices may have been missed meanwhile. No job is held as unfinished across the break.
// The progress channel is heard only while streams want it.
#include "gateway/completion_listener.h"
#include "gateway/job_event_hub.h"
#include "gateway/progress_demand.h"
#include "gateway/recent_endings.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/child_process.h"
#include "tests/support/stack.h"

namespace batchq {
namespace {

using namespace std::chrono_literals;

class RedisServer {
 public:
  RedisServer() : port_(test::FreePort()) { Start(); }
  void Start() {
    process_ = std::make_unique<test::ChildProcess>(
        std::vector<std::string>{BATCHQ_REDIS_SERVER, "--port", std::to_string(port_), "--bind",
                                 "127.0.0.1", "--save", "", "--appendonly", "no"},
        "/dev/null");
    for (int i = 0; i < 100 && !Cli({"PING"}); ++i) std::this_thread::sleep_for(50ms);
  }
  void Kill() { process_->Kill(); }
  // Runs redis-cli; true when it exited 0.
  bool Cli(const std::vector<std::string>& args) {
    std::vector<std::string> argv{BATCHQ_REDIS_CLI, "-p", std::to_string(port_)};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string out;
    return test::RunCommand(argv, &out) == 0 && out.find("Could not connect") == std::string::npos;
  }
  RedisConnection::Options Options() const {
    RedisConnection::Options options;
    options.endpoint.port = port_;
    return options;
  }

 private:
  int port_;
  std::unique_ptr<test::ChildProcess> process_;
};

// Polls `done` for at most `limit`; true once it held.
template <class Done>
bool Eventually(Done done, std::chrono::milliseconds limit = 10s) {
  for (auto waited = 0ms; waited < limit; waited += 20ms) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

TEST(CompletionListenerTest, WaitersAreWokenWhenTheSubscriptionIsBackNotWhenItDrops) {
  RedisServer redis;
  CompletionWaiters waiters;
  CompletionListener listener(redis.Options(), "bq:done", waiters);

  // Subscribed: a published notice wakes its waiter.
  std::atomic<int> first{0};
  waiters.Add("first", [&](auto) { ++first; });
  ASSERT_TRUE(Eventually([&] {
    redis.Cli({"PUBLISH", "bq:done", "first\tsucceeded\t1\tt\tupper"});
    return first.load() > 0;
  }));
  // A job's ending wakes its waiter; another's being queued, in the same message, does not.
  std::atomic<int> second{0};
  std::atomic<int> queued{0};
  waiters.Add("second", [&](auto) { ++second; });
  const std::uint64_t queued_token = waiters.Add("queued-one", [&](auto) { ++queued; });
  redis.Cli({"PUBLISH", "bq:done", "queued-one\tqueued\t0\tt\tupper\nsecond\tfailed\t1\tt\tupper"});
  ASSERT_TRUE(Eventually([&] { return second.load() > 0; }));
  EXPECT_EQ(queued.load(), 0) << "a queued change woke a long-poll";
  waiters.Remove(queued_token);

  // Subscribed: a created job is held as unfinished.
  ASSERT_TRUE(waiters.Expect("held", "t"));

  std::atomic<int> waiting{0};
  waiters.Add("waiting", [&](auto) { ++waiting; });
  redis.Kill();
  // Its end may now be missed: it is let go, and nothing new is held.
  EXPECT_TRUE(Eventually([&] { return !waiters.ExpectedTenant("held"); }))
      << "a job was held as unfinished across a break in the notices";
  EXPECT_FALSE(waiters.Expect("away", "t"));
  // The listener sees the drop within its 100 ms read; the old behaviour woke every
  // waiter right then.
  std::this_thread::sleep_for(600ms);
  EXPECT_EQ(waiting.load(), 0) << "woken while Redis was gone";
  EXPECT_EQ(waiters.size(), 1u);

  redis.Start();
  EXPECT_TRUE(Eventually([&] { return waiting.load() > 0; }))
      << "not woken once the subscription was back";
  EXPECT_EQ(waiters.size(), 0u);
  EXPECT_TRUE(waiters.Expect("back", "t")) << "nothing held once the notices flow again";
}

// A tenant stream's watcher that counts the changes the hub gives it.
class CountingWatcher : public JobEventHub::Watcher {
 public:
  bool OnChange(const JobChange& change, const JobRecord*) override {
    std::lock_guard lock(mutex_);
    ids_.push_back(change.id);
    return true;
  }
  bool OnGap(const JobRecord*) override { return true; }
  bool OnHeartbeat() override { return open_.load(); }
  // The next heartbeat tells the hub the stream is over.
  void Close() { open_ = false; }
  std::vector<std::string> ids() const {
    std::lock_guard lock(mutex_);
    return ids_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> ids_;
  std::atomic<bool> open_{true};
};

// A listener with a progress demand that wakes it, wired as the gateway wires them (but
// with no linger), and a hub whose streams read no records.
struct DemandedListener {
  explicit DemandedListener(const RedisServer& redis)
      : listener(redis.Options(), "bq:done", waiters, &hub, {"bq:progress", &demand}) {
    to_wake = &listener;
  }
  CompletionWaiters waiters;
  JobEventHub hub{
      [](std::span<const std::string> ids) -> Result<std::vector<std::optional<JobRecord>>> {
        return std::vector<std::optional<JobRecord>>(ids.size());
      },
      10ms};
  std::atomic<CompletionListener*> to_wake{nullptr};
  ProgressDemand demand{0ms, [this] {
                          if (auto* listener = to_wake.load()) listener->Wake();
                        }};
  CompletionListener listener;
};

// With no stream open the listener leaves the progress channel to Redis alone; a
// stream's Await returns once it is subscribed, its changes reach the stream, and once
// the last stream is gone (no linger here) it unsubscribes.
TEST(CompletionListenerTest, ItHearsTheProgressChannelOnlyWhileStreamsWantIt) {
  RedisServer redis;
  RedisConnection probe(redis.Options());
  DemandedListener wired(redis);
  auto& [waiters, hub, to_wake, demand, listener] = wired;

  ASSERT_TRUE(Eventually([&] { return test::Subscribers(probe, "bq:done") == 1; }));
  EXPECT_EQ(test::Subscribers(probe, "bq:progress"), 0) << "subscribed with no stream open";
  EXPECT_FALSE(demand.flowing());

  auto watcher = std::make_shared<CountingWatcher>();
  hub.WatchTenant("t", watcher);
  ASSERT_EQ(demand.Await(ProgressDemand::Clock::now(), 10s), ProgressDemand::Answer::kFlowing);
  EXPECT_EQ(test::Subscribers(probe, "bq:progress"), 1) << "Await returned before the subscription";
  redis.Cli({"PUBLISH", "bq:progress", "p1\tqueued\t0\tt\tupper"});
  ASSERT_TRUE(Eventually([&] {
    const auto ids = watcher->ids();
    return std::find(ids.begin(), ids.end(), "p1") != ids.end();
  })) << "a progress change did not reach the stream";

  watcher->Close();
  EXPECT_TRUE(Eventually([&] { return test::Subscribers(probe, "bq:progress") == 0; }))
      << "still subscribed with every stream gone";
  EXPECT_FALSE(demand.flowing());

  // A later stream subscribes it again.
  auto second = std::make_shared<CountingWatcher>();
  hub.WatchTenant("t", second);
  ASSERT_EQ(demand.Await(ProgressDemand::Clock::now(), 10s), ProgressDemand::Answer::kFlowing);
  EXPECT_EQ(test::Subscribers(probe, "bq:progress"), 1);
}

TEST(CompletionListenerTest, UnderAnAclWithoutTheProgressChannelStreamsAreToldAtOnce) {
  RedisServer redis;
  // As an ACL file from before the progress channel: the done channel alone.
  ASSERT_TRUE(redis.Cli({"ACL", "SETUSER", "default", "resetchannels", "&bq:done"}));
  RedisConnection probe(redis.Options());
  DemandedListener wired(redis);
  auto& [waiters, hub, to_wake, demand, listener] = wired;
  ASSERT_TRUE(Eventually([&] { return test::Subscribers(probe, "bq:done") == 1; }));

  auto watcher = std::make_shared<CountingWatcher>();
  hub.WatchTenant("t", watcher);
  // Told of the refusal, not left to wait out its timeout.
  EXPECT_EQ(demand.Await(ProgressDemand::Clock::now(), 10s), ProgressDemand::Answer::kRefused);
  EXPECT_EQ(test::Subscribers(probe, "bq:progress"), 0);
  // The endings still flow (the subscription's own wake-up of every waiter came before
  // the refusal was handled, so this one is woken by the notice).
  std::atomic<bool> woken{false};
  waiters.Add("e1", [&](auto) { woken = true; });
  ASSERT_TRUE(redis.Cli({"PUBLISH", "bq:done", "e1\tsucceeded\t1\tt\tupper"}));
  EXPECT_TRUE(Eventually([&] { return woken.load(); }));
}

TEST(CompletionListenerTest, ACarriedRecordWakesItsWaiterWithItAndReachesStreamsOnlyOnce) {
  RedisServer redis;
  CompletionWaiters waiters;
  // Streams of a tenant read no records.
  JobEventHub hub(
      [](std::span<const std::string> ids) -> Result<std::vector<std::optional<JobRecord>>> {
        return std::vector<std::optional<JobRecord>>(ids.size());
      },
      1h);
  auto watcher = std::make_shared<CountingWatcher>();
  hub.WatchTenant("t", watcher);
  CompletionListener listener(redis.Options(), "bq:done", waiters, &hub);

  // Subscribed (a subscription's start wakes every waiter, with no record).
  std::atomic<bool> subscribed{false};
  waiters.Add("probe", [&](auto) { subscribed = true; });
  ASSERT_TRUE(Eventually([&] {
    redis.Cli({"PUBLISH", "bq:done", "probe\tsucceeded\t1\tx\tupper"});
    return subscribed.load();
  }));
  std::mutex mutex;
  std::shared_ptr<const JobRecord> got;
  std::atomic<bool> woken{false};
  waiters.Add("c1", [&](std::shared_ptr<const JobRecord> record) {
    std::lock_guard lock(mutex);
    got = std::move(record);
    woken = true;
  });
  // As the finish script publishes: the carried records, then the plain changes.
  redis.Cli({"PUBLISH", "bq:done", "c1\tsucceeded\t1\tt\tupper\tid=c1\tresult=\"R\\tS\""});
  ASSERT_TRUE(Eventually([&] { return woken.load(); }));
  redis.Cli({"PUBLISH", "bq:done", "c1\tsucceeded\t1\tt\tupper"});
  redis.Cli({"PUBLISH", "bq:done", "end\tqueued\t0\tt\tupper"});
  ASSERT_TRUE(Eventually([&] {
    const auto ids = watcher->ids();
    return !ids.empty() && ids.back() == "end";
  }));
  {
    std::lock_guard lock(mutex);
    ASSERT_NE(got, nullptr);
    EXPECT_EQ(got->result, "\"R\tS\"");
  }
  const auto ids = watcher->ids();
  EXPECT_EQ(std::count(ids.begin(), ids.end(), "c1"), 1)
      << "the stream got c1 from its carried record as well as its plain change";
}

TEST(CompletionListenerTest, KeepsTheCarriedRecordOfAJobCreatedHereThatSucceededUnwaited) {
  RedisServer redis;
  CompletionWaiters waiters;
  RecentEndings endings({.hold = 1h});
  CompletionListener listener(redis.Options(), "bq:done", waiters, nullptr, {}, &endings);
  std::atomic<bool> subscribed{false};
  waiters.Add("probe", [&](auto) { subscribed = true; });
  ASSERT_TRUE(Eventually([&] {
    redis.Cli({"PUBLISH", "bq:done", "probe\tsucceeded\t1\tx\tupper"});
    return subscribed.load();
  }));
  ASSERT_TRUE(waiters.Expect("mine", "t"));
  ASSERT_TRUE(waiters.Expect("mine-failed", "t"));
  ASSERT_TRUE(waiters.Expect("mine-waited", "t"));
  waiters.Add("mine-waited", [](auto) {});
  redis.Cli({"PUBLISH", "bq:done",
             "mine\tsucceeded\t1\tt\tupper\tid=mine\tstatus=succeeded\tresult=\"M\"\n"
             "other\tsucceeded\t1\tt\tupper\tid=other\tstatus=succeeded\tresult=\"O\"\n"
             "mine-failed\tfailed\t1\tt\tupper\tid=mine-failed\tstatus=failed\t"
             "error_code=handler_error\n"
             "mine-waited\tsucceeded\t1\tt\tupper\tid=mine-waited\tstatus=succeeded"});
  // Messages are handled in order: once this one wakes its waiter, the one above was heard.
  std::atomic<bool> synced{false};
  waiters.Add("sync", [&](auto) { synced = true; });
  redis.Cli({"PUBLISH", "bq:done", "sync\tsucceeded\t1\tx\tupper"});
  ASSERT_TRUE(Eventually([&] { return synced.load(); }));

  const auto now = std::chrono::steady_clock::now();
  const auto mine = endings.Find("mine", now);
  ASSERT_NE(mine, nullptr);
  EXPECT_EQ(mine->result, "\"M\"");
  EXPECT_EQ(mine->status, JobStatus::kSucceeded);
  EXPECT_EQ(endings.Find("other", now), nullptr) << "not created here";
  EXPECT_EQ(endings.Find("mine-failed", now), nullptr) << "a failed job can be retried";
  EXPECT_EQ(endings.Find("mine-waited", now), nullptr) << "its long-poll had the answer";
  EXPECT_EQ(endings.size(), 1u);
}

}  // namespace
}  // namespace batchq
