// Hostile or broken peers with real processes, each written here as the attacker (or the
// buggy program) would be: what they may hold and for how long.
#include <atomic>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <zmq.hpp>

#include "common/curve_socket.h"
#include "common/zmq_transport.h"
#include "tests/support/stack.h"

namespace batchq::test {
namespace {

// A worker with a listed key that registers, heartbeats, takes batches and never
// finishes one: hung in its handler, or hostile. Runs on its own thread until destroyed.
class HungWorker {
 public:
  explicit HungWorker(const Stack& stack) {
    CurveClientKeys keys{*LoadCurveSecretFile(stack.worker_secret_file()),
                         *LoadCurvePublicFile(stack.broker_public_key_file())};
    thread_ = std::thread([this, keys, endpoint = stack.broker_backend()] { Run(keys, endpoint); });
  }
  ~HungWorker() {
    stop_.store(true);
    thread_.join();
  }
  int batches() const { return batches_.load(); }

 private:
  void Run(const CurveClientKeys& keys, const std::string& endpoint) {
    zmq::context_t context(1);
    zmq::socket_t socket(context, zmq::socket_type::dealer);
    socket.set(zmq::sockopt::linger, 0);
    UseCurveClient(socket, keys);
    socket.connect(endpoint);
    SendWire(socket, {}, wire::Ready{"hung", {"upper"}, 1, "cpu", "cpu", 0});
    while (!stop_.load()) {
      zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds(100));
      while (auto received = ReceiveWire(socket, /*routed=*/false)) {
        if (received->message && std::holds_alternative<wire::Batch>(*received->message)) {
          ++batches_;
        }
      }
      SendWire(socket, {}, wire::Heartbeat{0});
    }
  }

  std::atomic<bool> stop_{false};
  std::atomic<int> batches_{0};
  std::thread thread_;
};

TEST(HostilePeerTest, AWorkerThatHeartbeatsButNeverFinishesLosesItsBatchAfterMaxRun) {
  Stack stack(StackOptions{.workers = 0,
                           .broker_args = {"--type", "upper:max_run_ms=1500", "--heartbeat-ms",
                                           "200", "--metrics-listen", "127.0.0.1:0"}});
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  HungWorker hung(stack);
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto client = stack.Client();
  auto job = client->PostJson("/v1/jobs", R"({"type":"upper","input":"not forever"})");
  ASSERT_TRUE(job);
  ASSERT_EQ(job->status, 202);
  const std::string id = JsonString(job->body, "id");
  ASSERT_TRUE(WaitFor([&] { return hung.batches() == 1; })) << stack.Logs();
  stack.AddWorker();  // a healthy worker, busy with nothing
  const std::string done = WaitTerminal(*client, id);
  EXPECT_EQ(JsonString(done, "status"), "succeeded") << done << stack.Logs();
  EXPECT_EQ(JsonString(done, "result"), "NOT FOREVER");
  EXPECT_EQ(JsonInt(done, "attempts"), 2) << "the hung run was fenced off";
  EXPECT_EQ(hung.batches(), 1) << "a hung worker's credit stays spent: it gets nothing more";
  const std::string metrics = ScrapeMetrics(
      fmt::format("http://127.0.0.1:{}", LoggedMetricsPort(stack.broker().ReadLog())));
  EXPECT_NE(metrics.find(R"(batchq_batches_overdue_total{type="upper"} 1)"), std::string::npos)
      << metrics;
}

}  // namespace
}  // namespace batchq::test
