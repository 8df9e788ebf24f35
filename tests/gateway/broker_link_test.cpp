// BrokerLink against a broker played by the test on a real ROUTER socket (loopback,
// plain): submits from many threads at once go out packed, and each caller gets back
// exactly the verdicts of its own jobs, once.
#include "gateway/broker_link.h"

#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <fmt/format.h>

#include <gtest/gtest.h>

#include "common/zmq_transport.h"
#include "tests/support/child_process.h"

namespace batchq {
namespace {

using namespace std::chrono_literals;

// The request a job belongs to: its id less the last ".<index>".
std::string RequestOf(const std::string& job_id) { return job_id.substr(0, job_id.rfind('.')); }

// Answers pings as the active broker, and each SUBMIT with one verdict per job that
// names the job; jobs whose id starts with "r" are refused. Notes whether a message
// held jobs of more than one request.
class PlayedBroker {
 public:
  explicit PlayedBroker(zmq::context_t& context, const std::string& bind = "tcp://127.0.0.1:*")
      : socket_(context, zmq::socket_type::router) {
    ApplySocketDefaults(socket_);
    socket_.bind(bind);
    endpoint_ = LastEndpoint(socket_);
    thread_ = std::thread([this] { Loop(); });
  }
  ~PlayedBroker() {
    stop_ = true;
    thread_.join();
  }
  const std::string& endpoint() const { return endpoint_; }
  bool saw_packed() const { return saw_packed_; }
  int submits() const { return submits_; }
  // Requests in the last SUBMIT.
  int last_requests() const { return last_requests_; }
  int pings() const { return pings_; }
  // From now on it reads every message and answers none, as a hung broker would.
  void Mute() { muted_ = true; }

 private:
  void Loop() {
    while (!stop_) {
      zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0}};
      PollOrSignal(items, 1, 20ms);
      while (auto received = ReceiveWire(socket_, /*routed=*/true)) {
        if (!received->message || muted_) continue;
        if (auto* ping = std::get_if<wire::Ping>(&*received->message)) {
          ++pings_;
          wire::Status status;
          status.seq = ping->seq;
          SendWire(socket_, received->routing, status);
        } else if (auto* submit = std::get_if<wire::Submit>(&*received->message)) {
          SendWire(socket_, received->routing, Answer(*submit));
        }
      }
    }
  }
  wire::Accept Answer(const wire::Submit& submit) {
    wire::Accept accept{submit.request_id, {}};
    std::set<std::string> requests;
    for (const auto& job : submit.jobs) {
      requests.insert(RequestOf(job.id));
      accept.verdicts.push_back(
          wire::Verdict{job.id.starts_with("r") ? "queue_full" : "", job.id, 0});
    }
    if (requests.size() > 1) saw_packed_ = true;
    last_requests_ = static_cast<int>(requests.size());
    ++submits_;
    return accept;
  }

  zmq::socket_t socket_;
  std::string endpoint_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> saw_packed_{false};
  std::atomic<bool> muted_{false};
  std::atomic<int> pings_{0};
  std::atomic<int> submits_{0};
  std::atomic<int> last_requests_{0};
  std::thread thread_;
};

TEST(BrokerLinkTest, SubmitsOfABurstAreHeldUntilItEndsAndLeaveInOneMessage) {
  zmq::context_t context;
  PlayedBroker broker(context);
  BrokerLink link(context, BrokerLink::Options{broker.endpoint(), 50ms, 3, std::nullopt});
  ASSERT_TRUE(test::WaitFor([&] { return link.alive(); }, 10s));

  std::atomic<int> answered{0};
  link.BeginBurst();
  link.BeginBurst();  // nested: only the outer end hands them on
  for (int r = 0; r < 3; ++r) {
    wire::SubmitJob job;
    job.id = fmt::format("a{}.0", r);
    link.Submit({std::move(job)}, 10s, [&](Result<std::vector<wire::Verdict>> verdicts) {
      if (verdicts && verdicts->size() == 1 && verdicts->front().code.empty()) ++answered;
    });
  }
  link.EndBurst();
  // Each ping goes out on a turn of the link that also sends what it holds, and the
  // broker reads in order: three more pings read means turns after the submits sent
  // nothing.
  const int pings = broker.pings();
  ASSERT_TRUE(test::WaitFor([&] { return broker.pings() >= pings + 3; }, 10s));
  EXPECT_EQ(broker.submits(), 0) << "a submit left before its burst ended";
  link.EndBurst();
  ASSERT_TRUE(test::WaitFor([&] { return answered == 3; }, 10s));
  EXPECT_EQ(broker.submits(), 1);
  EXPECT_EQ(broker.last_requests(), 3);
}

TEST(BrokerLinkTest, SubmitsSentTogetherAreAnsweredEachWithItsOwnVerdicts) {
  zmq::context_t context;
  PlayedBroker broker(context);
  BrokerLink link(context, BrokerLink::Options{broker.endpoint(), 50ms, 3, std::nullopt});
  ASSERT_TRUE(test::WaitFor([&] { return link.alive(); }, 10s));

  std::mutex mutex;
  std::vector<std::string> wrong;
  std::atomic<int> answered{0};
  int sent = 0;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;
  // Bursts until one message is seen to carry several requests (bounded).
  for (int burst = 0; burst < 50 && !broker.saw_packed(); ++burst) {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, burst, t] {
        for (int n = 0; n < kPerThread; ++n) {
          const std::string request =
              fmt::format("{}{}-{}-{}", n % 5 == 0 ? "r" : "a", burst, t, n);
          std::vector<std::string> ids;
          std::vector<wire::SubmitJob> jobs;
          for (int j = 0; j <= n % 3; ++j) {
            ids.push_back(fmt::format("{}.{}", request, j));
            wire::SubmitJob job;
            job.id = ids.back();
            jobs.push_back(std::move(job));
          }
          link.Submit(std::move(jobs), 10s, [&, ids](Result<std::vector<wire::Verdict>> verdicts) {
            std::vector<std::string> named;
            bool codes_right = verdicts.has_value();
            if (verdicts) {
              for (const auto& verdict : *verdicts) {
                named.push_back(verdict.message);
                codes_right &=
                    verdict.code == (verdict.message.starts_with("r") ? "queue_full" : "");
              }
            }
            if (named != ids || !codes_right) {
              std::lock_guard lock(mutex);
              wrong.push_back(ids.front());
            }
            ++answered;
          });
        }
      });
    }
    for (auto& thread : threads) thread.join();
    sent += kThreads * kPerThread;
    ASSERT_TRUE(test::WaitFor([&] { return answered.load() == sent; }, 10s));
  }

  EXPECT_TRUE(broker.saw_packed());
  EXPECT_EQ(answered.load(), sent);
  EXPECT_TRUE(wrong.empty()) << wrong.size() << " requests got verdicts not theirs, e.g. "
                             << (wrong.empty() ? "" : wrong.front());
}

TEST(BrokerLinkTest, ABrokerThatStopsAnsweringIsLeftForTheNext) {
  zmq::context_t context;
  PlayedBroker first(context);
  PlayedBroker second(context);
  BrokerLink link(context, BrokerLink::Options{first.endpoint() + "," + second.endpoint(), 50ms, 3,
                                               std::nullopt});
  ASSERT_TRUE(test::WaitFor([&] { return link.alive(); }, 10s));
  ASSERT_EQ(second.pings(), 0);
  first.Mute();
  // Three pings go unanswered over 150 ms; the link then asks the second broker.
  EXPECT_TRUE(test::WaitFor([&] { return second.pings() > 0 && link.alive(); }, 10s))
      << "the link stayed with a broker that no longer answers";
}

TEST(BrokerLinkTest, AHostThatRefusesTheConnectionIsNotRedialledAtOnceAndABrokerThereIsFound) {
  // Nothing listens here yet: every connection is refused within microseconds. The
  // link once moved on at that speed, made thousands of sockets a second and died of
  // "Too many open files".
  const std::string endpoint = fmt::format("tcp://127.0.0.1:{}", test::FreePort());
  zmq::context_t context;
  BrokerLink::Options options{endpoint, 50ms, 3, std::nullopt};
  options.move_pause = 1h;  // after the first round, no move within this test
  BrokerLink link(context, options);
  ASSERT_TRUE(test::WaitFor([&] { return link.moves() >= 1; }, 10s))
      << "a refused connection did not count as lost";
  // Time for thousands of refusals, as before; one move still.
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(link.moves(), 1u);
  // A broker that starts there is found by the socket the link kept, without a move.
  PlayedBroker broker(context, endpoint);
  EXPECT_TRUE(test::WaitFor([&] { return link.alive(); }, 10s));
  EXPECT_EQ(link.moves(), 1u);
}

}  // namespace
}  // namespace batchq
