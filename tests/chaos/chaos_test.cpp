// Chaos suite: a few thousand `upper` jobs under load while a process is killed,
// frozen or restarted. Afterwards every accepted job must be terminal, every result
// correct, and no result written twice: a subscriber counts the completion notices,
// which the store publishes once per job, only when its result is written.
// Each test prints one "CHAOS |" row for docs/RELIABILITY.md.
#include <csignal>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include "common/job_change.h"
#include "common/json_writer.h"
#include "common/redis_connection.h"
#include "tests/support/stack.h"

namespace batchq::test {
namespace {

using namespace std::chrono_literals;

// Counts ending notices per job id on the {prefix}done channel (job_change.h).
class NoticeCounter {
 public:
  explicit NoticeCounter(RedisEndpoint endpoint) {
    options_.endpoint = std::move(endpoint);
    thread_ = std::thread([this] { Loop(); });
  }
  ~NoticeCounter() {
    stop_ = true;
    thread_.join();
  }
  int Count(const std::string& id) {
    std::lock_guard lock(mutex_);
    const auto it = counts_.find(id);
    return it == counts_.end() ? 0 : it->second;
  }
  bool subscribed() const { return subscribed_; }

 private:
  void Loop() {
    RedisConnection redis(options_);
    bool subscribed = false;
    while (!stop_) {
      if (!subscribed) {
        subscribed = redis.Subscribe("bq:done").has_value();
        subscribed_ = subscribed_ || subscribed;
        if (!subscribed) std::this_thread::sleep_for(50ms);
        continue;
      }
      auto message = redis.NextMessage(50ms);
      if (!message) {
        subscribed = false;
        continue;
      }
      if (!*message) continue;
      std::lock_guard lock(mutex_);
      for (const JobChange& change : ParseJobChanges(**message)) {
        // A carried record's change is published again as a plain one: count that.
        if (IsTerminal(change.status) && change.carried.empty()) ++counts_[change.id];
      }
    }
  }

  RedisConnection::Options options_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> subscribed_{false};
  std::mutex mutex_;
  std::unordered_map<std::string, int> counts_;
  std::thread thread_;
};

struct Accepted {
  std::string id;
  std::string text;
};

// Submits `requests` × 50 jobs through :batch, one request every `gap`, from a
// background thread; requests that fail (503, connection lost) count as refused.
class Load {
 public:
  Load(const Stack& stack, int requests, std::chrono::milliseconds gap) {
    thread_ = std::thread([this, &stack, requests, gap] {
      for (int r = 0; r < requests; ++r) {
        std::this_thread::sleep_for(gap);
        std::vector<std::string> texts;
        std::string body = R"({"jobs":[)";
        for (int i = 0; i < 50; ++i) {
          texts.push_back(fmt::format("chaos {} item {} abc", r, i));
          JsonWriter job;
          job.BeginObject().Key("type").String("upper").Key("input").String(texts.back());
          job.EndObject();
          body += (i ? "," : "") + job.str();
        }
        body += "]}";
        auto client =
            HttpClient::Connect(stack.url(), HttpClientOptions{5s, stack.admin_key(), ""});
        auto response = client ? (*client)->PostJson("/v1/jobs:batch", body)
                               : Result<HttpResponse>(std::unexpected(client.error()));
        if (!response || response->status != 202) {
          refused_ += 50;
          continue;
        }
        simdjson::dom::parser parser;
        simdjson::dom::element root;
        if (parser.parse(response->body).get(root) != simdjson::SUCCESS) continue;
        std::size_t i = 0;
        for (auto item : root["jobs"].get_array()) {
          std::string_view id;
          if (item["id"].get(id) == simdjson::SUCCESS) {
            std::lock_guard lock(mutex_);
            accepted_.push_back({std::string(id), texts[i]});
          } else {
            ++refused_;
          }
          ++i;
        }
      }
    });
  }
  ~Load() { Join(); }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  std::size_t accepted() {
    std::lock_guard lock(mutex_);
    return accepted_.size();
  }
  std::vector<Accepted> Take() {
    Join();
    return std::move(accepted_);
  }
  int refused() const { return refused_; }

 private:
  std::thread thread_;
  std::mutex mutex_;
  std::vector<Accepted> accepted_;
  std::atomic<int> refused_{0};
};

std::string Upper(std::string text) {
  for (char& c : text) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  }
  return text;
}

// Which crashed workers the poison test's supervisor already replaced.
std::unordered_map<std::size_t, bool> replaced_;

// What a scenario may break, by design, and report rather than fail on.
struct Allowed {
  bool missed_notices = false;  // a notice published just before a Redis crash
  bool lost = false;            // asynchronous replication: a failover may drop jobs
  bool written_twice = false;   // ... or a result, so that the job runs again
};

// Waits for every job and checks the invariants; prints the table row.
void CheckInvariants(const std::string& scenario, Stack& stack, NoticeCounter& notices,
                     const std::vector<Accepted>& accepted, int refused, Allowed allowed) {
  auto client = stack.Client();
  int succeeded = 0, failed = 0, lost = 0, stuck = 0, wrong = 0, twice = 0;
  // Every job gets long-polls until this deadline, then one look each: a scenario that
  // leaves jobs that never end fails with their ids instead of running out ctest's time.
  const auto deadline = std::chrono::steady_clock::now() + 90s;
  for (const auto& job : accepted) {
    std::string body, last;
    bool exists = false;
    for (int i = 0; i < 12 && body.empty(); ++i) {
      const bool late = std::chrono::steady_clock::now() > deadline;
      auto polled = client->Get(fmt::format("/v1/jobs/{}?wait_ms={}", job.id, late ? 0 : 5000));
      if (!polled) {
        client = stack.Client();
        continue;
      }
      last = fmt::format("{} {}", polled->status, polled->body);
      exists = polled->status == 200;
      const std::string status = JsonString(polled->body, "status");
      if (polled->status == 200 && status != "queued" && status != "running") body = polled->body;
      if (late) break;
    }
    if (body.empty() && exists) {
      // Its record is there, but nothing ends it: no scenario allows that.
      ++stuck;
      ADD_FAILURE() << scenario << ": job " << job.id << " never ended; last seen: " << last;
      continue;
    }
    if (body.empty()) {
      ++lost;
      if (!allowed.lost) {
        ADD_FAILURE() << scenario << ": job " << job.id << " is gone; last seen: " << last;
      }
      continue;
    }
    if (JsonString(body, "status") == "succeeded") {
      ++succeeded;
      if (JsonString(body, "result") != Upper(job.text)) ++wrong;
    } else {
      ++failed;
    }
  }
  // Notices may trail the records a little: give the subscriber a moment to catch up.
  WaitFor([&] { return notices.Count(accepted.back().id) > 0; }, 5s);
  for (const auto& job : accepted) {
    const int count = notices.Count(job.id);
    if (count > 1) ++twice;
    if (count == 0 && !allowed.missed_notices && !allowed.lost) {
      ADD_FAILURE() << scenario << ": no completion notice for " << job.id;
    }
  }
  if (!allowed.lost) {
    EXPECT_EQ(lost, 0) << scenario;
  }
  EXPECT_EQ(wrong, 0) << scenario << ": wrong results";
  if (!allowed.written_twice) {
    EXPECT_EQ(twice, 0) << scenario << ": results written twice";
  }
  EXPECT_EQ(stuck, 0) << scenario << ": jobs that never ended";
  EXPECT_EQ(succeeded + failed + lost + stuck, static_cast<int>(accepted.size())) << scenario;
  EXPECT_GT(accepted.size(), 1000u) << scenario << ": too little load got through";
  std::printf("CHAOS | %s | %zu | %d | %d | %d | %d | %d |\n", scenario.c_str(), accepted.size(),
              refused, succeeded, failed, lost, twice);
}

// A stack, a notice counter listening, and a load that has got 1,000 jobs accepted: the
// moment each scenario strikes.
struct UnderLoad {
  explicit UnderLoad(const StackOptions& options)
      : stack(options), notices(stack.redis_admin_endpoint()) {}
  // Starts the load once everything is up; false (with the logs) when it is not.
  ::testing::AssertionResult Start(int workers, int requests = 60) {
    if (!stack.WaitReady(workers)) return ::testing::AssertionFailure() << stack.Logs();
    if (!WaitFor([&] { return notices.subscribed(); })) {
      return ::testing::AssertionFailure() << "the notice counter never subscribed";
    }
    load.emplace(stack, requests, 20ms);
    if (!WaitFor([&] { return load->accepted() > 1000; })) {
      return ::testing::AssertionFailure() << "the load never got going\n" << stack.Logs();
    }
    return ::testing::AssertionSuccess();
  }
  void Verify(const std::string& scenario, Allowed allowed = {}) {
    const auto accepted = load->Take();
    CheckInvariants(scenario, stack, notices, accepted, load->refused(), allowed);
  }
  Stack stack;
  NoticeCounter notices;
  std::optional<Load> load;
};

StackOptions ChaosOptions(int workers) {
  return StackOptions{
      .workers = workers,
      .broker_args = {"--heartbeat-ms", "100", "--sweep-ms", "300", "--sweep-grace-ms", "1000",
                      "--running-lease-ms", "3000", "--type",
                      "upper:max_batch_size=32,max_delay_ms=10,adaptive=0"},
      .worker_args = {"--heartbeat-ms", "100"}};
}

TEST(ChaosTest, KillWorkerMidLoad) {
  UnderLoad run(ChaosOptions(3));
  ASSERT_TRUE(run.Start(3));
  run.stack.worker(0).Kill();
  run.Verify("kill -9 a worker mid-load");
}

TEST(ChaosTest, FreezeWorkerMidLoad) {
  UnderLoad run(ChaosOptions(3));
  ASSERT_TRUE(run.Start(3));
  run.stack.worker(0).Signal(SIGSTOP);
  std::this_thread::sleep_for(1s);      // well past 3 missed heartbeats: declared dead
  run.stack.worker(0).Signal(SIGCONT);  // its late results must be refused
  run.Verify("SIGSTOP a worker for 1 s, then SIGCONT");
}

TEST(ChaosTest, KillBrokerMidLoadAndRestartIt) {
  UnderLoad run(ChaosOptions(2));
  ASSERT_TRUE(run.Start(2));
  run.stack.broker().Kill();
  std::this_thread::sleep_for(300ms);
  run.stack.StartBroker();
  run.Verify("kill -9 the broker mid-load, restart it");
}

// Two brokers on one Redis with a 1 s lease: the failures of the active one.
StackOptions PairOptions() {
  StackOptions options = ChaosOptions(2);
  options.brokers = 2;
  options.broker_args.insert(options.broker_args.end(), {"--lease-ms", "1000"});
  return options;
}

TEST(ChaosTest, KillTheActiveBrokerOfAPairMidLoad) {
  UnderLoad run(PairOptions());
  ASSERT_TRUE(run.Start(2, 150));  // long enough to outlast the outage
  const int active = run.stack.ActiveBroker();
  ASSERT_NE(active, -1);
  run.stack.broker(active).Kill();  // not restarted: the standby carries on alone
  run.Verify("kill -9 the active broker of a pair mid-load (lease 1 s)");
}

TEST(ChaosTest, FreezeTheActiveBrokerOfAPairPastItsLeaseMidLoad) {
  UnderLoad run(PairOptions());
  ASSERT_TRUE(run.Start(2, 150));
  const int active = run.stack.ActiveBroker();
  ASSERT_NE(active, -1);
  const std::uint64_t epoch = run.stack.ReadLease().epoch;
  run.stack.broker(active).Signal(SIGSTOP);
  // Split brain: the standby takes over while the frozen one still holds its queues,
  // its batches in flight and its workers' connections.
  ASSERT_EQ(run.stack.ActiveBroker(epoch), 1 - active) << run.stack.Logs();
  std::this_thread::sleep_for(500ms);
  run.stack.broker(active).Signal(SIGCONT);  // it must step down, not run anything again
  run.Verify("SIGSTOP the active broker of a pair past its lease, then SIGCONT");
}

TEST(ChaosTest, GatewayDiesBetweenPersistAndForward) {
  // The 25th request is made durable, then the gateway exits before forwarding it: its
  // client gets no answer, yet the broker's sweep must still run those jobs.
  StackOptions options = ChaosOptions(2);
  options.gateway_args = {"--fault-exit-after-persist", "25"};
  Stack stack(options);
  ASSERT_TRUE(stack.WaitReady(2)) << stack.Logs();
  NoticeCounter notices(stack.redis_admin_endpoint());
  ASSERT_TRUE(WaitFor([&] { return notices.subscribed(); }));
  std::vector<Accepted> accepted;
  int refused = 0;
  {
    Load load(stack, 30, 20ms);
    ASSERT_TRUE(WaitFor([&] { return !stack.gateway().running(); }, 30s));
    load.Join();
    accepted = load.Take();
    refused = load.refused();
  }
  stack.options().gateway_args.clear();
  stack.StartGateway();  // without the fault: a fresh gateway
  ASSERT_TRUE(stack.WaitReady(2)) << stack.Logs();
  Load more(stack, 30, 20ms);
  auto rest = more.Take();
  accepted.insert(accepted.end(), rest.begin(), rest.end());
  refused += more.refused();
  // The orphans: durable jobs no client was told about. Every one of them must end too.
  std::string keys;
  ASSERT_EQ(RunCommand({BATCHQ_REDIS_CLI, "-u", stack.redis_url(), "--no-auth-warning", "--scan",
                        "--pattern", "bq:job:*"},
                       &keys),
            0);
  std::unordered_map<std::string, bool> known;
  for (const auto& job : accepted) known[job.id] = true;
  int orphans = 0;
  auto client = stack.Client();
  for (std::size_t at = 0, end; at < keys.size(); at = end + 1) {
    end = keys.find('\n', at);
    if (end == std::string::npos) end = keys.size();
    const std::string key = keys.substr(at, end - at);
    if (key.size() < 8) continue;
    const std::string id = key.substr(7);
    if (known.contains(id)) continue;
    ++orphans;
    auto job = client->Get(fmt::format("/v1/jobs/{}?wait_ms=20000", id));
    ASSERT_TRUE(job);
    EXPECT_EQ(JsonString(job->body, "status"), "succeeded") << "orphan " << id << stack.Logs();
  }
  EXPECT_EQ(orphans, 50) << "the request the gateway died on held 50 jobs";
  CheckInvariants("gateway exits between persist and forward (fault flag)", stack, notices,
                  accepted, refused, {});
}

TEST(ChaosTest, PoisonJobMidLoad) {
  // One job crashes every worker that runs it. A supervisor (this test) replaces dead
  // workers, as compose's restart policy would. The poison job must end failed alone
  // after max_attempts; its batch mates and the rest of the load succeed.
  StackOptions options = ChaosOptions(2);
  options.broker_args.insert(options.broker_args.end(), {"--max-attempts", "3"});
  options.worker_args.insert(options.worker_args.end(), {"--fault-crash-on-input", "\"poison\""});
  Stack stack(options);
  ASSERT_TRUE(stack.WaitReady(2)) << stack.Logs();
  NoticeCounter notices(stack.redis_admin_endpoint());
  ASSERT_TRUE(WaitFor([&] { return notices.subscribed(); }));
  std::size_t workers = 2;
  auto supervise = [&] {
    const std::size_t now = workers;
    for (std::size_t i = 0; i < now; ++i) {
      if (!stack.worker(i).running() && !replaced_[i]) {
        replaced_[i] = true;
        stack.AddWorker();
        ++workers;
      }
    }
  };
  Load load(stack, 60, 20ms);
  ASSERT_TRUE(WaitFor([&] { return load.accepted() > 1000; }));
  auto client = stack.Client();
  auto poison = client->PostJson("/v1/jobs", R"({"type":"upper","input":"poison"})");
  ASSERT_TRUE(poison);
  ASSERT_EQ(poison->status, 202);
  const std::string poison_id = JsonString(poison->body, "id");
  ASSERT_TRUE(WaitFor(
      [&] {
        supervise();
        auto job = client->Get("/v1/jobs/" + poison_id);
        return job && JsonString(job->body, "status") == "failed";
      },
      60s))
      << stack.Logs();
  auto ended = client->Get("/v1/jobs/" + poison_id);
  EXPECT_EQ(JsonString(ended->body, "error", "code"), "worker_lost");
  EXPECT_GE(JsonInt(ended->body, "attempts"), 3);
  load.Join();
  WaitFor(
      [&] {
        supervise();
        return false;
      },
      1s);
  const auto accepted = load.Take();
  CheckInvariants("a poison job that crashes its worker, mid-load", stack, notices, accepted,
                  load.refused(), {});
  for (std::size_t i = 2; i < workers; ++i) stack.worker(i).Stop();
}

TEST(ChaosTest, RestartRedisWithAofMidLoad) {
  StackOptions options = ChaosOptions(2);
  options.redis_aof = true;
  UnderLoad run(options);
  ASSERT_TRUE(run.Start(2));
  run.stack.redis().Kill();
  std::this_thread::sleep_for(300ms);
  run.stack.StartRedis();  // same port, same folder: replays the AOF
  // A notice published just before the kill may never reach the subscriber.
  run.Verify("kill -9 redis-server (AOF, fsync always) mid-load, restart it",
             {.missed_notices = true});
}

// Redis with two replicas and three sentinels, a pair of brokers: kill -9 the master
// mid-load; Sentinel promotes a replica and every process follows it. Replication is
// asynchronous: with --redis-replicas-ack 0 an accepted job, or a written result, may
// not have reached the replica that is promoted. With N > 0 a job is accepted only once
// N replicas have it, but Sentinel promotes "the best replica" by offsets it may have
// read seconds earlier (Redis's WAIT documentation: best effort), so only N = every
// replica makes sure the promoted one has it: that is the case asserted; N < 2 is
// measured and reported.
void KillTheRedisMaster(int replicas_ack, bool lagging) {
  StackOptions options = ChaosOptions(2);
  options.brokers = 2;
  options.redis_replicas = 2;
  options.sentinels = 3;
  options.gateway_args = {"--redis-replicas-ack", std::to_string(replicas_ack),
                          "--redis-replicas-wait-ms", "100"};
  UnderLoad run(options);
  ASSERT_TRUE(run.Start(2, 200));  // long enough to outlast the failover
  if (lagging) {
    for (int node : {1, 2}) run.stack.redis_node(node).Signal(SIGSTOP);
    std::string out;
    ASSERT_EQ(RunCommand({BATCHQ_REDIS_CLI, "-u", run.stack.RedisNodeUrl(0), "--no-auth-warning",
                          "CLIENT", "KILL", "TYPE", "replica"},
                         &out),
              0)
        << out;
    std::this_thread::sleep_for(600ms);
  }
  run.stack.redis_node(0).Kill();
  if (lagging) {
    for (int node : {1, 2}) run.stack.redis_node(node).Signal(SIGCONT);
  }
  ASSERT_TRUE(WaitFor([&] { return run.stack.RedisMasterNode() > 0; }, 30s)) << run.stack.Logs();
  run.Verify(fmt::format("kill -9 the Redis master mid-load{} (2 replicas, 3 sentinels, "
                         "--redis-replicas-ack {})",
                         lagging ? ", its replicas 600 ms behind" : "", replicas_ack),
             {.missed_notices = true, .lost = replicas_ack < 2, .written_twice = true});
}

TEST(ChaosTest, KillTheRedisMasterMidLoadWithoutReplicaAcks) { KillTheRedisMaster(0, false); }

TEST(ChaosTest, KillTheRedisMasterMidLoadWithOneReplicaAck) { KillTheRedisMaster(1, false); }

TEST(ChaosTest, KillTheRedisMasterMidLoadWithEveryReplicaAcking) { KillTheRedisMaster(2, false); }

TEST(ChaosTest, KillTheRedisMasterAheadOfItsReplicasWithoutReplicaAcks) {
  KillTheRedisMaster(0, true);
}

TEST(ChaosTest, KillTheRedisMasterAheadOfItsReplicasWithOneReplicaAck) {
  KillTheRedisMaster(1, true);
}

TEST(ChaosTest, KillTheRedisMasterAheadOfItsReplicasWithEveryReplicaAcking) {
  KillTheRedisMaster(2, true);
}

}  // namespace
}  // namespace batchq::test
