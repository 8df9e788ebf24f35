// Loss of processes mid-work: nothing accepted is lost, a poison job fails alone.
#include <csignal>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/curve_socket.h"
#include "common/zmq_transport.h"
#include "tests/support/stack.h"

namespace batchq::test {
namespace {

TEST(ReliabilityTest, PoisonJobFailsAloneAndItsBatchMatesSucceed) {
  // Every worker aborts on the input "poison". A supervisor (the test) replaces dead
  // workers, as compose's restart policy or systemd would.
  Stack stack(StackOptions{
      .workers = 2,
      .broker_args = {"--heartbeat-ms", "100", "--max-attempts", "3", "--type",
                      "upper:max_batch_size=16,max_delay_ms=50,adaptive=0"},
      .worker_args = {"--heartbeat-ms", "100", "--fault-crash-on-input", "\"poison\""}});
  ASSERT_TRUE(stack.WaitReady(2)) << stack.Logs();
  auto client = stack.Client();
  std::string body = R"({"jobs":[)";
  for (int i = 0; i < 8; ++i) body += fmt::format(R"({{"type":"upper","input":"ok{}"}},)", i);
  body += R"({"type":"upper","input":"poison"}]})";
  auto submitted = client->PostJson("/v1/jobs:batch", body);
  ASSERT_TRUE(submitted);
  ASSERT_EQ(submitted->status, 202) << submitted->body;
  std::vector<std::string> ids;
  for (auto pos = submitted->body.find("\"id\":\""); pos != std::string::npos;
       pos = submitted->body.find("\"id\":\"", pos + 1)) {
    ids.push_back(submitted->body.substr(pos + 6, 32));
  }
  ASSERT_EQ(ids.size(), 9u);

  // Replace each dead worker once, and at most 32: a worker found dead on one poll is
  // still dead on the next, and replacing it again every 20 ms once started hundreds
  // of workers on a slow machine, which slowed it further.
  std::size_t added = 0;
  std::vector<bool> replaced(2, false);
  const bool settled = WaitFor(
      [&] {
        for (std::size_t i = 0; i < replaced.size() && added < 32; ++i) {
          if (!replaced[i] && !stack.worker(i).running()) {
            replaced[i] = true;
            stack.AddWorker();
            replaced.push_back(false);
            ++added;
          }
        }
        auto last = client->Get("/v1/jobs/" + ids.back());
        const std::string status = last ? JsonString(last->body, "status") : "";
        return status == "failed";
      },
      std::chrono::seconds(60));
  ASSERT_TRUE(settled) << stack.Logs();
  auto poison = client->Get("/v1/jobs/" + ids.back());
  ASSERT_TRUE(poison);
  EXPECT_EQ(JsonString(poison->body, "error", "code"), "worker_lost") << poison->body;
  // Attempts count dispatches; a doorstep re-queue adds one without a lost run.
  EXPECT_GE(JsonInt(poison->body, "attempts"), 3) << poison->body;
  for (std::size_t i = 0; i + 1 < ids.size(); ++i) {
    const std::string job = WaitTerminal(*client, ids[i]);
    EXPECT_EQ(JsonString(job, "status"), "succeeded") << job;
    EXPECT_EQ(JsonString(job, "result"), fmt::format("OK{}", i)) << job;
  }
  for (std::size_t i = 2; i < 2 + added; ++i) stack.worker(i).Stop();
}

TEST(ReliabilityTest, BrokerAndWorkerKilledMidBatchTheJobRunsAgain) {
  // The broker loses its in-flight table when it dies; the worker running the job dies
  // too. The restarted broker's sweep finds the job `running` past its lease and runs it
  // again on a new worker.
  Stack stack(StackOptions{
      .workers = 0,
      .broker_args = {"--sweep-ms", "200", "--sweep-grace-ms", "0", "--running-lease-ms", "500"}});
  stack.AddWorker({"--sleep-fixed-us", "3000000"});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto client = stack.Client();
  auto submitted = client->PostJson("/v1/jobs", R"({"type":"sleep","input":1})");
  ASSERT_TRUE(submitted);
  ASSERT_EQ(submitted->status, 202);
  const std::string id = JsonString(submitted->body, "id");
  ASSERT_TRUE(WaitForStatus(*client, id, "running")) << stack.Logs();
  stack.broker().Kill();
  stack.worker(0).Kill();
  stack.StartBroker();
  stack.AddWorker({"--sleep-fixed-us", "1000"});
  const std::string body = WaitTerminal(*client, id);
  EXPECT_EQ(JsonString(body, "status"), "succeeded") << body << stack.Logs();
  EXPECT_EQ(JsonInt(body, "attempts"), 2) << body;
  EXPECT_EQ(JsonString(body, "worker"), "w1") << body;
}

TEST(ReliabilityTest, FrozenWorkersLateResultCannotOverwriteTheRerun) {
  // w0 is frozen (SIGSTOP) mid-batch, declared dead, and its batch runs again on w1.
  // When w0 thaws, it finishes the batch and tries to write: the attempt fence refuses.
  Stack stack(StackOptions{
      .workers = 0,
      .broker_args = {"--heartbeat-ms", "100", "--type", "sleep:max_batch_size=4,max_delay_ms=1"}});
  stack.AddWorker({"--heartbeat-ms", "100", "--sleep-fixed-us", "800000"});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto client = stack.Client();
  auto submitted = client->PostJson("/v1/jobs", R"({"type":"sleep","input":1})");
  ASSERT_TRUE(submitted);
  const std::string id = JsonString(submitted->body, "id");
  ASSERT_TRUE(WaitForStatus(*client, id, "running")) << stack.Logs();
  stack.worker(0).Signal(SIGSTOP);
  stack.AddWorker({"--heartbeat-ms", "100", "--sleep-fixed-us", "1000"});
  const std::string rerun = WaitTerminal(*client, id);
  ASSERT_EQ(JsonString(rerun, "status"), "succeeded") << rerun << stack.Logs();
  EXPECT_EQ(JsonString(rerun, "worker"), "w1");
  EXPECT_EQ(JsonInt(rerun, "attempts"), 2);
  const std::int64_t finished = JsonInt(rerun, "timeline", "finished_us");

  stack.worker(0).Signal(SIGCONT);
  // w0 wakes, finishes its 800 ms batch, and comes back to the broker.
  ASSERT_TRUE(WaitFor([&] {
    auto types = client->Get("/v1/types");
    return types && types->body.find("\"w0\"") != std::string::npos;
  })) << stack.Logs();
  // The refusal is logged on a line that names the job.
  ASSERT_TRUE(WaitFor([&] {
    const std::string log = stack.worker(0).ReadLog();
    const auto at = log.find("late result refused");
    return at != std::string::npos && log.find("job=" + id, at) < log.find('\n', at);
  })) << stack.worker(0).ReadLog();
  auto after = client->Get("/v1/jobs/" + id);
  ASSERT_TRUE(after);
  EXPECT_EQ(JsonString(after->body, "worker"), "w1") << after->body;
  EXPECT_EQ(JsonInt(after->body, "attempts"), 2) << after->body;
  EXPECT_EQ(JsonInt(after->body, "timeline", "finished_us"), finished) << after->body;
}

TEST(ReliabilityTest, IdempotencyKeyNamesOneJobAndRefusesAnotherBody) {
  Stack stack(StackOptions{.workers = 1});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto client = stack.Client();
  auto submit = [&](const std::string& key, const std::string& body) {
    return client->Send(
        HttpRequest{"POST",
                    "/v1/jobs",
                    body,
                    {{"Content-Type", "application/json"}, {"Idempotency-Key", key}}});
  };
  auto first = submit("order-42", R"({"type":"upper","input":"once"})");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 202) << first->body;
  const std::string id = JsonString(first->body, "id");
  ASSERT_FALSE(WaitTerminal(*client, id).empty());

  auto again = submit("order-42", R"({"type":"upper","input":"once"})");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 202) << again->body;
  EXPECT_EQ(JsonString(again->body, "id"), id);
  EXPECT_EQ(again->Header("Idempotent-Replayed"), "true");
  EXPECT_EQ(JsonString(again->body, "status"), "succeeded") << "the replay shows the job as it is";
  EXPECT_EQ(JsonInt(again->body, "attempts"), 1) << "the job ran once";

  auto other = submit("order-42", R"({"type":"upper","input":"twice"})");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 422) << other->body;
  EXPECT_EQ(JsonString(other->body, "error", "code"), "idempotency_conflict");

  auto fresh = submit("order-43", R"({"type":"upper","input":"once"})");
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->status, 202);
  EXPECT_NE(JsonString(fresh->body, "id"), id);

  auto bad = submit(std::string(300, 'k'), R"({"type":"upper","input":"x"})");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
}

TEST(ReliabilityTest, IdempotencyKeyOfARefusedJobCanBeRetried) {
  Stack stack(StackOptions{.workers = 0, .broker_args = {"--type", "upper:max_queue=1"}});
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  auto client = stack.Client();
  auto filler = client->PostJson("/v1/jobs", R"({"type":"upper","input":"fill"})");
  ASSERT_TRUE(filler);
  ASSERT_EQ(filler->status, 202);
  const HttpRequest keyed{"POST",
                          "/v1/jobs",
                          R"({"type":"upper","input":"later"})",
                          {{"Content-Type", "application/json"}, {"Idempotency-Key", "k-1"}}};
  auto refused = client->Send(keyed);
  ASSERT_TRUE(refused);
  ASSERT_EQ(refused->status, 429) << refused->body;
  stack.AddWorker();
  ASSERT_TRUE(WaitFor([&] {
    auto retried = client->Send(keyed);
    return retried && retried->status == 202 && retried->Header("Idempotent-Replayed").empty();
  })) << "the key still named the refused job";
}

TEST(ReliabilityTest, GatewayAnswersInFlightRequestsBeforeItStops) {
  Stack stack(StackOptions{.workers = 0});
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  auto client = stack.Client();
  auto job = client->PostJson("/v1/jobs", R"({"type":"upper","input":"x"})");
  ASSERT_TRUE(job);
  const std::string id = JsonString(job->body, "id");
  Result<HttpResponse> polled = Fail(ErrorCode::kHttpError, "");
  std::thread poller([&] {
    auto other = stack.Client();
    polled = other->Get(fmt::format("/v1/jobs/{}?wait_ms=1500", id));
  });
  // Give the long-poll time to reach the gateway before the signal.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stack.gateway().Signal(SIGTERM);
  poller.join();
  ASSERT_TRUE(polled) << polled.error().message;
  EXPECT_EQ(polled->status, 200);
  EXPECT_EQ(JsonString(polled->body, "status"), "queued");
  EXPECT_EQ(stack.gateway().Wait(std::chrono::seconds(10)), 0) << "the gateway did not exit 0";
  auto refused = HttpClient::Connect(stack.url(), std::chrono::seconds(2));
  ASSERT_TRUE(refused);
  EXPECT_FALSE((*refused)->Get("/healthz")) << "a stopped gateway still answered";
}

TEST(ReliabilityTest, AGatewayPausedPastTheBrokersWindowTakesJobsAsSoonAsItWakes) {
  // A pause of the gateway's own (a frozen VM, SIGSTOP) is not the broker's silence: no
  // ping went unanswered, so the first submit after it is taken, not answered 503
  // broker_unavailable while the link reconnects.
  Stack stack;
  ASSERT_TRUE(stack.WaitReady(2)) << stack.Logs();
  auto client = stack.Client();
  ExpectUpperJobRuns(*client, "before the pause");
  stack.gateway().Signal(SIGSTOP);
  // Past the link's window: 500 ms pings, 3 of them.
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));
  stack.gateway().Signal(SIGCONT);
  auto submitted = client->PostJson("/v1/jobs", R"({"type":"upper","input":"after"})");
  ASSERT_TRUE(submitted) << submitted.error().message;
  EXPECT_EQ(submitted->status, 202) << submitted->body;
  EXPECT_EQ(JsonString(WaitTerminal(*client, JsonString(submitted->body, "id")), "status"),
            "succeeded");
}

TEST(ReliabilityTest, WorkerFinishesAndWritesItsBatchOnSigterm) {
  Stack stack(StackOptions{.workers = 0});
  stack.AddWorker({"--sleep-fixed-us", "800000"});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto client = stack.Client();
  auto job = client->PostJson("/v1/jobs", R"({"type":"sleep","input":1})");
  ASSERT_TRUE(job);
  const std::string id = JsonString(job->body, "id");
  ASSERT_TRUE(WaitForStatus(*client, id, "running"));
  stack.worker(0).Signal(SIGTERM);
  EXPECT_EQ(stack.worker(0).Wait(std::chrono::seconds(10)), 0) << "the worker did not exit 0";
  auto done = client->Get("/v1/jobs/" + id);
  ASSERT_TRUE(done);
  EXPECT_EQ(JsonString(done->body, "status"), "succeeded") << done->body;
  EXPECT_EQ(JsonInt(done->body, "attempts"), 1) << "the batch was finished, not handed back";
}

TEST(ReliabilityTest, BrokerAnswersMalformedFramesAndStaysUp) {
  Stack stack(StackOptions{.workers = 1});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  zmq::context_t context(1);
  // Peers with listed keys: garbage from an authenticated process must not hurt either.
  const std::string broker_public = *LoadCurvePublicFile(stack.broker_public_key_file());
  for (const auto& [endpoint, secret] :
       {std::pair{stack.broker_frontend(), stack.gateway_secret_file()},
        std::pair{stack.broker_backend(), stack.worker_secret_file()}}) {
    zmq::socket_t peer(context, zmq::socket_type::dealer);
    peer.set(zmq::sockopt::linger, 0);
    peer.set(zmq::sockopt::rcvtimeo, 5000);
    UseCurveClient(peer, CurveClientKeys{*LoadCurveSecretFile(secret), broker_public});
    peer.connect(endpoint);
    // A wrong version, an unknown command, garbage msgpack, a wrong frame count.
    const std::vector<std::vector<std::string>> bad = {{std::string{9, 1}, "x"},
                                                       {std::string{1, 99}, "x"},
                                                       {std::string{1, 1}, "\xc1\xc1"},
                                                       {"only one frame"}};
    for (const auto& frames : bad) {
      for (std::size_t i = 0; i < frames.size(); ++i) {
        peer.send(zmq::buffer(frames[i]),
                  i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
      }
      auto reply = ReceiveWire(peer, /*routed=*/false);
      for (int i = 0; i < 50 && !reply; ++i) {
        zmq::pollitem_t item{peer.handle(), 0, ZMQ_POLLIN, 0};
        zmq::poll(&item, 1, std::chrono::milliseconds(100));
        reply = ReceiveWire(peer, /*routed=*/false);
      }
      ASSERT_TRUE(reply) << "no answer to a malformed frame on " << endpoint;
      ASSERT_TRUE(reply->message);
      EXPECT_TRUE(std::holds_alternative<wire::Disconnect>(*reply->message)) << endpoint;
    }
  }
  EXPECT_TRUE(stack.broker().running());
  auto client = stack.Client();
  auto job = client->PostJson("/v1/jobs", R"({"type":"upper","input":"still up"})");
  ASSERT_TRUE(job);
  ASSERT_EQ(job->status, 202);
  EXPECT_EQ(JsonString(WaitTerminal(*client, JsonString(job->body, "id")), "result"), "STILL UP");
}

TEST(ReliabilityTest, QueuedJobsSurviveABrokerRestart) {
  Stack stack(
      StackOptions{.workers = 0, .broker_args = {"--sweep-ms", "200", "--sweep-grace-ms", "0"}});
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  auto client = stack.Client();
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    auto job = client->PostJson("/v1/jobs", fmt::format(R"({{"type":"upper","input":"q{}"}})", i));
    ASSERT_TRUE(job);
    ASSERT_EQ(job->status, 202);
    ids.push_back(JsonString(job->body, "id"));
  }
  stack.broker().Kill();  // its queue held all 20, only in memory
  stack.StartBroker();
  stack.AddWorker();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const std::string body = WaitTerminal(*client, ids[i]);
    EXPECT_EQ(JsonString(body, "result"), fmt::format("Q{}", i)) << body << stack.Logs();
  }
}

}  // namespace
}  // namespace batchq::test
