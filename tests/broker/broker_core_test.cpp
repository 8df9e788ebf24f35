// BrokerCore driven by hand: events in with a hand-moved clock, effects checked.
// No sockets, no Redis, no sleeps.
#include "broker/broker_core.h"

#include <functional>

#include <gtest/gtest.h>

#include "tests/broker/broker_core_harness.h"

namespace batchq {
namespace {

using namespace std::chrono_literals;
using test::CoreHarness;

TEST(BrokerCoreTest, AcceptsASubmitAndAnswersEveryJobInOrder) {
  CoreHarness h;
  const Effects out = h.Submit({"a", "b"});
  ASSERT_EQ(out.to_gateways.size(), 1u);
  EXPECT_EQ(out.to_gateways[0].routing, "gw");
  const auto& accept = std::get<wire::Accept>(out.to_gateways[0].message);
  ASSERT_EQ(accept.verdicts.size(), 2u);
  EXPECT_TRUE(accept.verdicts[0].code.empty());
  EXPECT_TRUE(accept.verdicts[1].code.empty());
  EXPECT_TRUE(h.core.Knows("a"));
  // The same id again (a gateway retry) is accepted but not queued twice.
  h.Submit({"a"});
  EXPECT_EQ(h.core.BuildStatus(0, h.now.steady).types[0].queue_depth, 2u);
}

TEST(BrokerCoreTest, RefusesPastMaxQueueWithRetryAfterAndAnUnknownTypeWithItsCode) {
  TypeSettings small;
  small.name = "upper";
  small.max_queue = 1;
  CoreHarness h(small);
  h.Submit({"a"});
  const Effects out = h.Submit({"b"});
  const auto& verdict = std::get<wire::Accept>(out.to_gateways[0].message).verdicts[0];
  EXPECT_EQ(verdict.code, Name(ErrorCode::kQueueFull));
  EXPECT_GE(verdict.retry_after_ms, 1000);
  EXPECT_FALSE(h.core.Knows("b"));
  const Effects unknown = h.Submit({"c"}, "nope");
  EXPECT_EQ(std::get<wire::Accept>(unknown.to_gateways[0].message).verdicts[0].code,
            Name(ErrorCode::kUnknownType));
}

TEST(BrokerCoreTest, RefusesByProjectedWaitAndSaysSoInItsStatus) {
  TypeSettings upper = CoreHarness::Upper();
  upper.max_queue_wait = 1000ms;
  CoreHarness h(upper);
  h.Ready("w1", 1);
  h.Submit({"a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7"});
  const auto batches = h.TickBatches();
  ASSERT_EQ(batches.size(), 1u);
  // A full batch of 8 took 2 s: the worker drains 4 jobs a second.
  h.Worker("w1", wire::Done{batches[0].second.batch_id, 8, 2'000'000, {}});
  h.Advance(10s);  // the measured dispatch rate fades; the learned cost stays
  auto verdict_of = [&](const std::string& id) {
    const Effects out = h.Submit({id});
    return std::get<wire::Accept>(out.to_gateways.at(0).message).verdicts.at(0);
  };
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(verdict_of("b" + std::to_string(i)).code.empty()) << i;  // up to 1 s of work
  }
  const wire::Verdict refused = verdict_of("b5");  // 5 queued: 1.25 s
  EXPECT_EQ(refused.code, Name(ErrorCode::kQueueWaitExceeded));
  EXPECT_EQ(refused.retry_after_ms, 1000);
  EXPECT_FALSE(h.core.Knows("b5"));
  const wire::TypeStatus status = h.core.BuildStatus(0, h.now.steady).types.at(0);
  EXPECT_EQ(status.max_queue_wait_ms, 1000);
  EXPECT_EQ(status.projected_wait_us, 1'250'000);
  EXPECT_EQ(status.refusing_retry_after_ms, 1000);
  // A second worker doubles the drain: admitted again.
  h.Ready("w2", 1);
  EXPECT_TRUE(verdict_of("b6").code.empty());
  EXPECT_EQ(h.core.BuildStatus(0, h.now.steady).types.at(0).refusing_retry_after_ms, 0);
}

TEST(BrokerCoreTest, RefusesWhatNoGatewayWouldSendAndQueuesNothingOfIt) {
  CoreHarness h;
  auto refused = [&](auto&& spoil) {
    wire::SubmitJob job{"j1", "upper", 0, 0, "\"x\"", h.now.wall.count(), 0, "", 1, 0};
    spoil(job);
    Effects out;
    h.core.OnSubmit("gw", wire::Submit{7, {job}}, h.now, out);
    const auto& accept = std::get<wire::Accept>(out.to_gateways.at(0).message);
    return accept.verdicts.at(0);
  };
  const std::vector<std::function<void(wire::SubmitJob&)>> spoilers = {
      [](auto& job) { job.priority = 2147483647; },
      [](auto& job) { job.priority = -1001; },
      [](auto& job) { job.id = "../../etc"; },
      [](auto& job) { job.id = ""; },
      [](auto& job) { job.type = std::string(200, 't'); },
      [](auto& job) { job.timeout_ms = -5; },
      [](auto& job) { job.tenant_weight = 0; },
      [](auto& job) { job.tenant_weight = 1'000'000; },
      [](auto& job) { job.input.clear(); },
  };
  for (std::size_t i = 0; i < spoilers.size(); ++i) {
    const wire::Verdict verdict = refused(spoilers[i]);
    EXPECT_EQ(verdict.code, "invalid_request") << "spoiler " << i;
    EXPECT_FALSE(verdict.message.empty()) << "spoiler " << i;
  }
  EXPECT_FALSE(h.core.Knows("j1"));
  h.Ready("w1", 1);
  EXPECT_TRUE(h.TickBatches().empty()) << "nothing was queued";
  EXPECT_TRUE(refused([](auto&) {}).code.empty()) << "the control is accepted";
}

TEST(BrokerCoreTest, AJobWithoutARecordIsRefusedAndTheOthersOfItsSubmitAreQueued) {
  CoreHarness h;
  std::vector<wire::SubmitJob> jobs;
  for (const char* id : {"stored1", "junk1", "stored2"}) {
    jobs.push_back(wire::SubmitJob{id, "upper", 0, 0, "\"x\"", h.now.wall.count(), 0, "", 1, 0});
  }
  const std::vector<bool> durable = {true, false, true};
  Effects out;
  h.core.OnSubmit("gw", wire::Submit{7, jobs}, h.now, out, durable);
  const auto& verdicts = std::get<wire::Accept>(out.to_gateways.at(0).message).verdicts;
  ASSERT_EQ(verdicts.size(), 3u);
  EXPECT_TRUE(verdicts[0].code.empty());
  EXPECT_EQ(verdicts[1].code, "invalid_request");
  EXPECT_NE(verdicts[1].message.find("no record"), std::string::npos) << verdicts[1].message;
  EXPECT_TRUE(verdicts[2].code.empty());
  EXPECT_TRUE(h.core.Knows("stored1"));
  EXPECT_FALSE(h.core.Knows("junk1"));
  EXPECT_TRUE(h.core.Knows("stored2"));
}

TEST(BrokerCoreTest, DispatchesWithAttemptOneAndTheCreditComesBackOnDone) {
  CoreHarness h;
  h.Ready("w1", 1);
  h.Submit({"a", "b"});
  const auto batches = h.TickBatches();
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].first, "w1");
  const wire::Batch& batch = batches[0].second;
  ASSERT_EQ(batch.jobs.size(), 2u);
  EXPECT_EQ(batch.jobs[0].attempt, 1u);
  EXPECT_EQ(batch.dispatched_us, h.now.wall.count());
  EXPECT_EQ(h.core.workers().Find("w1")->free_credits(), 0u);
  h.Submit({"c"});
  EXPECT_TRUE(h.TickBatches().empty());  // no credit left
  h.Done("w1", batch);
  EXPECT_FALSE(h.core.Knows("a"));
  EXPECT_EQ(h.core.workers().Find("w1")->batches_done, 1u);
  const auto next = h.TickBatches();
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].second.jobs[0].id, "c");
}

TEST(BrokerCoreTest, AWorkerLostMidBatchSendsItsJobsBackAsSuspectsWithTheNextAttempt) {
  CoreHarness h;
  h.Ready("w1", 2);
  h.Submit({"a", "b"});
  const auto first = h.TickBatches();
  ASSERT_EQ(first.size(), 1u);
  h.Ready("w2", 2);
  const Effects lost = h.Worker("w1", wire::Disconnect{"bye"});
  EXPECT_TRUE(lost.endings.empty());
  EXPECT_EQ(h.core.workers().Find("w1"), nullptr);
  // Each suspect runs alone, on an idle worker, under attempt 2: the fencing token a
  // late result of attempt 1 cannot match.
  const auto retry = h.TickBatches();
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(retry[0].first, "w2");
  ASSERT_EQ(retry[0].second.jobs.size(), 1u);
  EXPECT_EQ(retry[0].second.jobs[0].attempt, 2u);
  EXPECT_EQ(retry[0].second.close_reason, "isolated");
  EXPECT_TRUE(h.TickBatches().empty());  // w2 is exclusive until that batch is done
  h.Done("w2", retry[0].second);
  const auto second = h.TickBatches();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].second.jobs[0].attempt, 2u);
}

TEST(BrokerCoreTest, ABatchHeldPastMaxRunByAHeartbeatingWorkerIsTakenBackAndRunsElsewhere) {
  TypeSettings upper = CoreHarness::Upper();
  upper.max_run = std::chrono::seconds(5);
  CoreHarness h(upper);
  h.Ready("hung", 1);
  h.Submit({"a"});
  const auto first = h.TickBatches();
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(first[0].first, "hung");
  h.Ready("w2", 1);
  // The worker keeps heartbeating, so it is never declared dead: only max_run helps.
  for (int second = 1; second <= 4; ++second) {
    h.Advance(std::chrono::seconds(1));
    h.Worker("hung", wire::Heartbeat{});
    h.Worker("w2", wire::Heartbeat{});
    EXPECT_TRUE(h.HeartbeatTick().endings.empty());
    EXPECT_TRUE(h.TickBatches().empty()) << "taken back early, at " << second << " s";
  }
  h.Advance(std::chrono::seconds(1));
  h.Worker("hung", wire::Heartbeat{});
  h.Worker("w2", wire::Heartbeat{});
  h.HeartbeatTick();
  const auto retry = h.TickBatches();
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(retry[0].first, "w2");
  EXPECT_EQ(retry[0].second.jobs[0].id, "a");
  EXPECT_EQ(retry[0].second.jobs[0].attempt, 2u) << "a new attempt fences the hung run";
  ASSERT_NE(h.core.workers().Find("hung"), nullptr);
  EXPECT_EQ(h.core.workers().Find("hung")->free_credits(), 0u) << "a hung worker gets no more";
  // It was slow, not dead: its late DONE gives its credit back and changes nothing else.
  h.Done("hung", first[0].second);
  EXPECT_EQ(h.core.workers().Find("hung")->free_credits(), 1u);
  EXPECT_EQ(h.core.in_flight_batches(), 1u);
  h.Done("hung", first[0].second);  // said twice: counted once
  EXPECT_EQ(h.core.workers().Find("hung")->free_credits(), 1u);
}

TEST(BrokerCoreTest, AJobWhoseBatchesKeepHangingFailsAfterMaxAttempts) {
  TypeSettings upper = CoreHarness::Upper();
  upper.max_run = std::chrono::seconds(5);
  CoreHarness h(upper);
  h.Submit({"a"});
  std::vector<JobEnding> endings;
  for (std::uint32_t attempt = 1; attempt <= 3 && endings.empty(); ++attempt) {
    const std::string worker = "w" + std::to_string(attempt);
    h.Ready(worker, 1);
    const auto batches = h.TickBatches();
    ASSERT_EQ(batches.size(), 1u) << attempt;
    EXPECT_EQ(batches[0].second.jobs[0].attempt, attempt);
    // Held for 5 s of the broker's ticks, 1 s apart: then taken back.
    for (int second = 1; second <= 5; ++second) {
      h.Advance(std::chrono::seconds(1));
      for (std::uint32_t w = 1; w <= attempt; ++w)
        h.Worker("w" + std::to_string(w), wire::Heartbeat{});
      endings = h.HeartbeatTick().endings;
    }
  }
  ASSERT_EQ(endings.size(), 1u);
  EXPECT_EQ(endings[0].ids, std::vector<std::string>{"a"});
  EXPECT_EQ(endings[0].code, ErrorCode::kWorkerLost);
  EXPECT_NE(endings[0].message.find("max_run (5000 ms)"), std::string::npos) << endings[0].message;
}

TEST(BrokerCoreTest, ASilentWorkerIsDeclaredDeadAfterLivenessIntervalsAndOthersGetHeartbeats) {
  CoreHarness h;
  h.Ready("quiet", 2);
  h.Ready("chatty", 2);
  h.Submit({"a"});
  const auto sent = h.TickBatches();
  ASSERT_EQ(sent.size(), 1u);
  const std::string holder = sent[0].first;
  const std::string other = holder == "quiet" ? "chatty" : "quiet";
  for (int i = 0; i < 3; ++i) {
    h.Advance(1s);
    h.Worker(other, wire::Heartbeat{});
    const Effects beat = h.HeartbeatTick();
    EXPECT_NE(h.core.workers().Find(holder), nullptr) << "declared dead too early, tick " << i;
    EXPECT_EQ(beat.to_workers.size(), 2u);
  }
  h.Advance(1ms);
  h.Worker(other, wire::Heartbeat{});
  const Effects beat = h.HeartbeatTick();
  EXPECT_EQ(h.core.workers().Find(holder), nullptr);
  ASSERT_EQ(beat.to_workers.size(), 1u);
  EXPECT_EQ(beat.to_workers[0].routing, other);
  const auto retry = h.TickBatches();
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(retry[0].first, other);
  EXPECT_EQ(retry[0].second.jobs[0].attempt, 2u);
}

TEST(BrokerCoreTest, APauseOfTheBrokersOwnDeclaresNoWorkerDead) {
  CoreHarness h;
  h.Ready("w", 2);
  h.Submit({"a"});
  ASSERT_EQ(h.TickBatches().size(), 1u);
  h.Advance(1s);
  h.HeartbeatTick();
  // The broker stood still for 10 s (a frozen VM). Its first tick on waking runs before
  // it reads what the worker sent meanwhile: the worker is not silent for that.
  h.Advance(10s);
  h.HeartbeatTick();
  EXPECT_NE(h.core.workers().Find("w"), nullptr) << "declared dead by the broker's own pause";
  h.Worker("w", wire::Heartbeat{});
  for (int i = 0; i < 3; ++i) {
    h.Advance(1s);
    h.HeartbeatTick();
  }
  h.Advance(1ms);
  h.HeartbeatTick();
  EXPECT_EQ(h.core.workers().Find("w"), nullptr) << "a worker silent while the broker ran";
}

TEST(BrokerCoreTest, APauseOfTheBrokersOwnTakesBackNoBatchPastItsMaxRun) {
  TypeSettings upper = CoreHarness::Upper();
  upper.max_run = std::chrono::seconds(5);
  CoreHarness h(upper);
  h.Ready("w", 1);
  h.Submit({"a", "b"});
  const auto sent = h.TickBatches();
  ASSERT_EQ(sent.size(), 1u);
  h.Advance(1s);
  h.Worker("w", wire::Heartbeat{});
  h.HeartbeatTick();
  // The broker stood still for 10 s, past the batch's max_run. The worker finished it
  // meanwhile; its DONE waits in the socket, read after the first tick on waking.
  h.Advance(10s);
  const Effects woke = h.HeartbeatTick();
  EXPECT_TRUE(woke.endings.empty());
  EXPECT_EQ(h.core.in_flight_batches(), 1u) << "taken back for the broker's own pause";
  h.Done("w", sent[0].second);
  EXPECT_EQ(h.core.in_flight_batches(), 0u);
  EXPECT_EQ(h.core.workers().Find("w")->free_credits(), 1u);
  EXPECT_TRUE(h.TickBatches().empty()) << "nothing runs again";
}

TEST(BrokerCoreTest, ABatchHungAcrossAPauseOfTheBrokersIsTakenBackOnceItsTicksCoverMaxRun) {
  TypeSettings upper = CoreHarness::Upper();
  upper.max_run = std::chrono::seconds(3);
  CoreHarness h(upper);
  h.Ready("hung", 1);
  h.Submit({"a"});
  ASSERT_EQ(h.TickBatches().size(), 1u);
  h.Ready("w2", 1);
  h.Advance(1s);
  h.HeartbeatTick();  // its first tick
  h.Advance(10s);     // the pause
  h.Worker("hung", wire::Heartbeat{});
  h.Worker("w2", wire::Heartbeat{});
  h.HeartbeatTick();  // its second: past max_run by the clock, but watched for 1 s of it
  EXPECT_TRUE(h.TickBatches().empty()) << "taken back on waking from the pause";
  h.Advance(1s);
  h.Worker("hung", wire::Heartbeat{});
  h.Worker("w2", wire::Heartbeat{});
  h.HeartbeatTick();  // its third: 3 ticks of 1 s, the broker watched it for its max_run
  const auto retry = h.TickBatches();
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(retry[0].first, "w2");
  EXPECT_EQ(retry[0].second.jobs[0].attempt, 2u);
}

TEST(BrokerCoreTest, APoisonJobFailsWithWorkerLostAfterMaxAttemptsAndItsBatchMatesRunOn) {
  CoreHarness h;  // max_attempts 3
  h.Submit({"poison", "good"});
  std::vector<std::string> done_good;
  for (int run = 1; run <= 3; ++run) {
    const std::string worker = "w" + std::to_string(run);
    h.Ready(worker, 2);
    auto batches = h.TickBatches();
    // The good job, once a suspect, runs alone and finishes.
    for (const auto& [routing, batch] : batches) {
      const bool has_poison =
          std::any_of(batch.jobs.begin(), batch.jobs.end(),
                      [](const wire::BatchJob& job) { return job.id == "poison"; });
      if (!has_poison) {
        h.Done(routing, batch);
        for (const auto& job : batch.jobs) done_good.push_back(job.id);
      }
    }
    // A second tick may place the poison job now that the worker is idle again.
    batches = h.TickBatches();
    const Effects lost = h.Worker(worker, wire::Disconnect{"crashed"});
    if (run < 3) {
      EXPECT_TRUE(lost.endings.empty()) << "run " << run;
    } else {
      ASSERT_EQ(lost.endings.size(), 1u);
      EXPECT_EQ(lost.endings[0].ids, std::vector<std::string>{"poison"});
      EXPECT_EQ(lost.endings[0].code, ErrorCode::kWorkerLost);
      EXPECT_EQ(lost.endings[0].status, JobStatus::kFailed);
    }
  }
  // The batch mate, blamed once, runs alone as a suspect and finishes.
  h.Ready("w4", 2);
  for (const auto& [routing, batch] : h.TickBatches()) {
    ASSERT_EQ(batch.jobs.size(), 1u);
    EXPECT_EQ(batch.jobs[0].attempt, 2u);
    h.Done(routing, batch);
    done_good.push_back(batch.jobs[0].id);
  }
  EXPECT_EQ(done_good, std::vector<std::string>{"good"});
  // Owed to Redis: still known (the sweep must not revive it) until written.
  EXPECT_TRUE(h.core.Knows("poison"));
  const std::vector<std::string> written{"poison"};
  h.core.OnEndingsWritten(written);
  EXPECT_FALSE(h.core.Knows("poison"));
}

TEST(BrokerCoreTest, AnUndeliveredBatchGoesBackWithoutCountingARun) {
  CoreHarness h;
  h.Ready("gone", 2);
  h.Submit({"a"});
  Effects out;
  h.core.OnTick(h.now, out);
  ASSERT_EQ(out.to_workers.size(), 1u);
  h.core.OnUndelivered("gone", out.to_workers[0].message);
  Effects lost;
  h.core.OnWorkerUnreachable("gone", lost);
  EXPECT_TRUE(lost.endings.empty());
  h.Ready("w2", 2);
  const auto retry = h.TickBatches();
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(retry[0].second.jobs[0].attempt, 1u);  // it never ran
  EXPECT_NE(retry[0].second.close_reason, "isolated");
}

TEST(BrokerCoreTest, AJobPastItsTimeoutExpiresAsAnEndingOwedToRedis) {
  CoreHarness h;
  h.Submit({"late"}, "upper", /*timeout_ms=*/50);
  h.Advance(49ms);
  Effects early;
  h.core.OnTick(h.now, early);
  EXPECT_TRUE(early.endings.empty());
  ASSERT_TRUE(h.core.wake_at().has_value());
  h.Advance(2ms);
  Effects out;
  h.core.OnTick(h.now, out);
  ASSERT_EQ(out.endings.size(), 1u);
  EXPECT_EQ(out.endings[0].status, JobStatus::kExpired);
  EXPECT_EQ(out.endings[0].code, ErrorCode::kExpired);
  EXPECT_EQ(out.endings[0].ids, std::vector<std::string>{"late"});
}

TEST(BrokerCoreTest, ItsLeaseEpochFencesEveryBatchAndEndingAndAReadyIsWelcomed) {
  auto options = CoreHarness::DefaultOptions(CoreHarness::Upper());
  options.epoch = 42;
  BrokerCore core(options);
  Now now{MonotonicTime{std::chrono::hours(1)}, WallMicros(1'700'000'000'000'000)};
  Effects ready;
  core.OnWorkerMessage("w1", wire::Ready{"w1", {"upper"}, 2, "cpu", "cpu"}, now, ready);
  ASSERT_EQ(ready.to_workers.size(), 1u) << "a worker hears back at once";
  EXPECT_TRUE(std::holds_alternative<wire::Heartbeat>(ready.to_workers[0].message));

  Effects submitted;
  core.OnSubmit(
      "gw",
      wire::Submit{1,
                   {wire::SubmitJob{"a", "upper", 0, 0, "\"x\"", now.wall.count(), 0, "", 1, 0},
                    wire::SubmitJob{"b", "upper", 0, 0, "\"x\"", now.wall.count(), 1, "", 1, 0}}},
      now, submitted);
  Effects out;
  now.steady += 5ms;
  now.wall += 5ms;
  core.OnTick(now, out);
  ASSERT_EQ(out.to_workers.size(), 1u);
  EXPECT_EQ(std::get<wire::Batch>(out.to_workers[0].message).epoch, 42u);
  ASSERT_EQ(out.endings.size(), 1u) << "b's 1 ms timeout passed";
  EXPECT_EQ(out.endings[0].epoch, 42u);
  EXPECT_EQ(core.BuildStatus(0, now.steady).epoch, 42u);
}

TEST(BrokerCoreTest, AMessageFromAnUnknownWorkerAsksItToStartOver) {
  CoreHarness h;
  const Effects out = h.Worker("stranger", wire::Heartbeat{});
  ASSERT_EQ(out.to_workers.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<wire::Disconnect>(out.to_workers[0].message));
  wire::Ready empty;
  empty.name = "w";
  empty.credits = 0;
  const Effects bad = h.Worker("w", empty);
  ASSERT_EQ(bad.to_workers.size(), 1u);
  EXPECT_EQ(h.core.workers().Find("w"), nullptr);
}

TEST(BrokerCoreTest, ACancelledJobLeavesTheQueue) {
  CoreHarness h;
  h.Submit({"a", "b"});
  Effects cancelled;
  h.core.OnCancel(wire::Cancel{"a"}, cancelled);
  EXPECT_TRUE(cancelled.to_workers.empty()) << "a queued job's cancel tells no worker";
  EXPECT_FALSE(h.core.Knows("a"));
  h.Ready("w", 2);
  const auto batches = h.TickBatches();
  ASSERT_EQ(batches.size(), 1u);
  ASSERT_EQ(batches[0].second.jobs.size(), 1u);
  EXPECT_EQ(batches[0].second.jobs[0].id, "b");
}

TEST(BrokerCoreTest, ACancelledRunningJobsWorkerIsToldAndItsBatchStaysInFlight) {
  CoreHarness h;
  h.Submit({"a", "b"});
  h.Ready("w", 2);
  const auto batches = h.TickBatches();
  ASSERT_EQ(batches.size(), 1u);
  Effects cancelled;
  h.core.OnCancel(wire::Cancel{"b"}, cancelled);
  ASSERT_EQ(cancelled.to_workers.size(), 1u);
  EXPECT_EQ(cancelled.to_workers[0].routing, "w");
  const auto* cancel = std::get_if<wire::Cancel>(&cancelled.to_workers[0].message);
  ASSERT_NE(cancel, nullptr);
  EXPECT_EQ(cancel->id, "b");
  EXPECT_EQ(h.core.in_flight_batches(), 1u) << "the batch ends when the worker says so";
  Effects unknown;
  h.core.OnCancel(wire::Cancel{"nobody"}, unknown);
  EXPECT_TRUE(unknown.empty());
}

TEST(BrokerCoreTest, TheSweepTakesOnlyUnknownIds) {
  CoreHarness h;
  h.Submit({"known"});
  EXPECT_EQ(h.core.UnknownIds({"known", "new"}), std::vector<std::string>{"new"});
}

TEST(BrokerCoreTest, TheSweepRequeuesQueuedAndAbandonedJobsWithTheirAttemptsAndFailsSpentOnes) {
  CoreHarness h;  // running_lease 60 s, max_attempts 3
  const WallMicros long_ago = h.now.wall - WallMicros(std::chrono::seconds(61));
  const WallMicros recently = h.now.wall - WallMicros(std::chrono::seconds(5));
  std::vector<JobRecord> records(5);
  records[0] = h.Record("queued", JobStatus::kQueued, 0, recently);
  records[1] = h.Record("abandoned", JobStatus::kRunning, 1, long_ago);
  records[2] = h.Record("still-running", JobStatus::kRunning, 1, recently);
  records[3] = h.Record("spent", JobStatus::kRunning, 3, long_ago);
  records[4] = h.Record("done", JobStatus::kSucceeded, 1, long_ago);
  Effects out;
  h.core.OnSweep(records, h.now, out);
  ASSERT_EQ(out.endings.size(), 1u);
  EXPECT_EQ(out.endings[0].ids, std::vector<std::string>{"spent"});
  EXPECT_EQ(out.endings[0].code, ErrorCode::kWorkerLost);
  EXPECT_TRUE(h.core.Knows("queued"));
  EXPECT_TRUE(h.core.Knows("abandoned"));
  EXPECT_FALSE(h.core.Knows("still-running"));
  EXPECT_FALSE(h.core.Knows("done"));
  h.Ready("w", 2);
  std::map<std::string, std::uint32_t> attempts;
  for (const auto& [routing, batch] : h.TickBatches()) {
    for (const auto& job : batch.jobs) attempts[job.id] = job.attempt;
  }
  // The fencing numbers carry on from Redis: a second run of "abandoned" is attempt 2.
  EXPECT_EQ(attempts, (std::map<std::string, std::uint32_t>{{"queued", 1}, {"abandoned", 2}}));
}

TEST(BrokerCoreTest, ARecoveredJobKeepsItsDeadlineFromCreation) {
  CoreHarness h;
  JobRecord record = h.Record("r", JobStatus::kQueued, 0, h.now.wall - WallMicros(40'000));
  record.timeout_ms = 50;
  Effects out;
  h.core.OnSweep({record}, h.now, out);
  h.Advance(11ms);
  Effects later;
  h.core.OnTick(h.now, later);
  ASSERT_EQ(later.endings.size(), 1u);
  EXPECT_EQ(later.endings[0].code, ErrorCode::kExpired);
}

TEST(BrokerCoreTest, AWorkerIsGivenOnlyTheTypesTheBrokerServes) {
  CoreHarness h;  // serves "upper" only
  h.Worker("w", wire::Ready{"w", {"rogue", "upper"}, 2, "cpu", "cpu"});
  h.Worker("v", wire::Ready{"v", {"rogue"}, 2, "cpu", "cpu"});
  const wire::Status status = h.core.BuildStatus(0, h.now.steady);
  ASSERT_EQ(status.types.size(), 1u) << "no type was added by a worker";
  EXPECT_EQ(status.types[0].name, "upper");
  EXPECT_EQ(status.types[0].workers, 1u) << "only w serves upper";
  const Effects refused = h.Submit({"r"}, "rogue");
  EXPECT_EQ(std::get<wire::Accept>(refused.to_gateways[0].message).verdicts[0].code,
            Name(ErrorCode::kUnknownType));
  h.Submit({"u1", "u2", "u3", "u4"});
  const auto batches = h.TickBatches();
  ASSERT_FALSE(batches.empty());
  for (const auto& [routing, batch] : batches) EXPECT_EQ(routing, "w");
}

TEST(BrokerCoreTest, ARecoveredJobOfATypeNoLongerServedEndsUnknownType) {
  CoreHarness h;
  JobRecord record = h.Record("old", JobStatus::kQueued, 0, h.now.wall);
  record.type = "retired";
  Effects out;
  h.core.OnSweep({record}, h.now, out);
  ASSERT_EQ(out.endings.size(), 1u);
  EXPECT_EQ(out.endings[0].ids, std::vector<std::string>{"old"});
  EXPECT_EQ(out.endings[0].code, ErrorCode::kUnknownType);
  EXPECT_NE(out.endings[0].message.find("retired"), std::string::npos);
}

TEST(BrokerCoreTest, ARecoveredJobExpiresAQueueLifetimeAfterItsCreationNotAfterTheRestart) {
  // A record has no TTL until it ends, so a job that no worker takes must not start its
  // queue lifetime again at each broker restart.
  auto options = CoreHarness::DefaultOptions(CoreHarness::Upper());
  options.policy.queue_lifetime = 10s;
  BrokerCore core(options);
  Now now{MonotonicTime(std::chrono::hours(1)), WallMicros(1'800'000'000'000'000)};
  JobRecord waited;  // created 8 s before this broker found it: 2 s left
  waited.id = "waited";
  waited.type = "upper";
  waited.status = JobStatus::kQueued;
  waited.input = "\"x\"";
  waited.created = now.wall - WallMicros(8s);
  JobRecord retried = waited;  // queued again by POST :retry 1 s ago: 9 s left
  retried.id = "retried";
  retried.created = now.wall - WallMicros(std::chrono::hours(48));
  retried.retry_at = now.wall - WallMicros(1s);
  JobRecord stale = waited;  // older than any queue wait: expires at the first tick
  stale.id = "stale";
  stale.created = now.wall - WallMicros(std::chrono::hours(72));
  Effects swept;
  core.OnSweep({waited, retried, stale}, now, swept);
  EXPECT_TRUE(swept.endings.empty());
  const auto expired_at = [&](std::chrono::milliseconds after) {
    Effects out;
    core.OnTick(Now{now.steady + after, now.wall + WallMicros(after)}, out);
    std::vector<std::string> ids;
    for (const auto& ending : out.endings) {
      EXPECT_EQ(ending.code, ErrorCode::kExpired);
      ids.insert(ids.end(), ending.ids.begin(), ending.ids.end());
    }
    return ids;
  };
  EXPECT_EQ(expired_at(0ms), std::vector<std::string>{"stale"});
  EXPECT_TRUE(expired_at(2s).empty());
  EXPECT_EQ(expired_at(2001ms), std::vector<std::string>{"waited"});
  EXPECT_TRUE(expired_at(9s).empty());
  EXPECT_EQ(expired_at(9001ms), std::vector<std::string>{"retried"});
}

TEST(BrokerCoreTest, AJobWithoutATimeoutStillExpiresAtTheQueueLifetime) {
  auto options = CoreHarness::DefaultOptions(CoreHarness::Upper());
  options.policy.queue_lifetime = 10s;
  BrokerCore core(options);
  Now now{MonotonicTime(std::chrono::hours(1)), WallMicros(1'800'000'000'000'000)};
  Effects out;
  core.OnSubmit(
      "gw",
      wire::Submit{1,
                   {wire::SubmitJob{"j", "upper", 0, 0, "\"x\"", now.wall.count(), 0, "", 1, 0}}},
      now, out);
  now.steady += 10s;
  Effects before;
  core.OnTick(now, before);
  EXPECT_TRUE(before.endings.empty());
  now.steady += 1ms;
  Effects after;
  core.OnTick(now, after);
  ASSERT_EQ(after.endings.size(), 1u);
  EXPECT_EQ(after.endings[0].code, ErrorCode::kExpired);
}

TEST(BrokerCoreTest, StatusCountsQueuesBatchesInFlightAndWorkers) {
  CoreHarness h;
  h.Ready("w", 1);
  h.Submit({"a"});
  h.TickBatches();
  h.Submit({"b", "c"});
  const wire::Status status = h.core.BuildStatus(7, h.now.steady);
  EXPECT_EQ(status.seq, 7u);
  ASSERT_EQ(status.types.size(), 1u);
  EXPECT_EQ(status.types[0].queue_depth, 2u);
  EXPECT_EQ(status.types[0].in_flight_batches, 1u);
  EXPECT_EQ(status.types[0].workers, 1u);
  ASSERT_EQ(status.workers.size(), 1u);
  EXPECT_EQ(status.workers[0].free_credits, 0u);
}

TEST(BrokerCoreTest, ARetryFromDoneIsHeldForItsBackoffThenRunsUnderTheNextAttempt) {
  CoreHarness h;
  h.Submit({"a", "b"});
  h.Ready("w", 2);
  const auto first = h.TickBatches();
  ASSERT_EQ(first.size(), 1u);
  // "a" failed retryably and Redis queued it again, due in 500 ms; "b" ended.
  wire::Done done{first[0].second.batch_id, 2, 1000, {{"a", 500}}};
  h.Worker("w", done);
  EXPECT_EQ(h.core.in_flight_batches(), 0u);
  EXPECT_EQ(h.core.delayed_retries(), 1u);
  EXPECT_TRUE(h.core.Knows("a")) << "the sweep must not queue it before its backoff";
  EXPECT_FALSE(h.core.Knows("b"));
  EXPECT_TRUE(h.TickBatches().empty());
  ASSERT_TRUE(h.core.wake_at());
  EXPECT_EQ(*h.core.wake_at(), h.now.steady + 500ms) << "the broker wakes when it is due";
  h.Advance(499ms);
  EXPECT_TRUE(h.TickBatches().empty());
  h.Advance(1ms);
  const auto second = h.TickBatches();
  ASSERT_EQ(second.size(), 1u);
  ASSERT_EQ(second[0].second.jobs.size(), 1u);
  EXPECT_EQ(second[0].second.jobs[0].id, "a");
  EXPECT_EQ(second[0].second.jobs[0].attempt, 2u) << "a new fencing token";
  EXPECT_EQ(h.core.delayed_retries(), 0u);
}

TEST(BrokerCoreTest, ACancelledRetryLeavesItsBackoffAndNeverRuns) {
  CoreHarness h;
  h.Submit({"a"});
  h.Ready("w", 1);
  const auto first = h.TickBatches();
  ASSERT_EQ(first.size(), 1u);
  h.Worker("w", wire::Done{first[0].second.batch_id, 1, 1000, {{"a", 100}}});
  Effects cancelled;
  h.core.OnCancel(wire::Cancel{"a"}, cancelled);
  EXPECT_TRUE(cancelled.empty());
  EXPECT_EQ(h.core.delayed_retries(), 0u);
  EXPECT_FALSE(h.core.Knows("a"));
  h.Advance(1s);
  EXPECT_TRUE(h.TickBatches().empty());
}

TEST(BrokerCoreTest, TheSweepHoldsARecoveredRetryUntilItsRetryAt) {
  CoreHarness h;
  h.Ready("w", 1);
  JobRecord record = h.Record("later", JobStatus::kQueued, 1, h.now.wall - WallMicros(5s));
  record.retries = 1;
  record.retry_at = h.now.wall + WallMicros(2s);
  record.timeout_ms = 1000;  // would have expired, counted from creation
  JobRecord due = h.Record("due", JobStatus::kQueued, 1, h.now.wall - WallMicros(5s));
  due.retry_at = h.now.wall - WallMicros(100ms);
  due.timeout_ms = 1000;  // its wait started at retry_at: 900 ms left
  Effects out;
  h.core.OnSweep({record, due}, h.now, out);
  EXPECT_TRUE(out.endings.empty());
  EXPECT_TRUE(h.core.Knows("later"));
  const auto now_batches = h.TickBatches();
  ASSERT_EQ(now_batches.size(), 1u);
  EXPECT_EQ(now_batches[0].second.jobs[0].id, "due");
  h.Worker("w", wire::Done{now_batches[0].second.batch_id, 1, 1000, {}});
  h.Advance(1999ms);
  EXPECT_TRUE(h.TickBatches().empty());
  h.Advance(1ms);
  const auto later_batches = h.TickBatches();
  ASSERT_EQ(later_batches.size(), 1u);
  EXPECT_EQ(later_batches[0].second.jobs[0].id, "later");
}

}  // namespace
}  // namespace batchq
