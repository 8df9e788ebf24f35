// CURVE between the processes, probed as an attacker would, in the spirit of libzmq's
// test_security_curve: peers with an unknown key, a garbage key, the wrong server key,
// no CURVE at all (NULL), and a worker's key on the gateway port (and the reverse) each
// try the broker. Each must fail its handshake (seen through a socket monitor, not a
// timer); none may register as a worker or get an answer; the jobs submitted meanwhile
// never reach them. The matrix (probe, expected, observed) is written to
// curve_matrix.md in the working directory.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <zmq.hpp>

#include "common/curve_keys.h"
#include "common/curve_socket.h"
#include "common/zmq_transport.h"
#include "tests/support/stack.h"

namespace batchq::test {
namespace {

enum class Handshake { kSucceeded, kRefused, kNoEvent };

std::string_view ToString(Handshake outcome) {
  switch (outcome) {
    case Handshake::kSucceeded:
      return "handshake succeeded";
    case Handshake::kRefused:
      return "refused";
    case Handshake::kNoEvent:
      return "no event";
  }
  return "?";
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  std::getline(in, text);
  return text;
}

// One peer on a broker port: a DEALER configured by the probe, watched by a monitor.
class Peer {
 public:
  Peer(zmq::context_t& context, const std::string& name)
      : socket_(context, zmq::socket_type::dealer), monitor_(context, zmq::socket_type::pair) {
    socket_.set(zmq::sockopt::linger, 0);
    const std::string address = "inproc://monitor-" + name;
    if (zmq_socket_monitor(socket_.handle(), address.c_str(), ZMQ_EVENT_ALL) != 0) {
      throw std::runtime_error("zmq_socket_monitor failed");
    }
    monitor_.connect(address);
  }
  zmq::socket_t& socket() { return socket_; }

  // The first verdict on the handshake: success, or any failure or a disconnect (a
  // server that cannot read our HELLO just closes). Bounded in events and in time.
  Handshake Await() {
    for (int i = 0; i < 200; ++i) {
      zmq::message_t event;
      zmq::message_t endpoint;
      monitor_.set(zmq::sockopt::rcvtimeo, 10000);
      if (!monitor_.recv(event) || !monitor_.recv(endpoint)) return Handshake::kNoEvent;
      std::uint16_t id = 0;
      std::memcpy(&id, event.data(), sizeof id);
      if (id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) return Handshake::kSucceeded;
      if (id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH || id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
          id == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL || id == ZMQ_EVENT_DISCONNECTED) {
        return Handshake::kRefused;
      }
    }
    return Handshake::kNoEvent;
  }

  // Every message that reached this peer, without waiting.
  std::size_t Received() {
    std::size_t count = 0;
    zmq::message_t frame;
    while (socket_.recv(frame, zmq::recv_flags::dontwait)) ++count;
    return count;
  }

 private:
  zmq::socket_t socket_;
  zmq::socket_t monitor_;
};

struct Probe {
  std::string name;
  std::string port;  // "gateway" or "worker"
  // Sets the peer's security options before it connects.
  std::function<void(zmq::socket_t&)> configure;
  Handshake expected = Handshake::kRefused;
};

struct Keys {
  CurveKeyPair stranger = NewCurveKeyPair();
  std::string broker_public;
  CurveKeyPair gateway;
  CurveKeyPair worker;
};

std::vector<Probe> Probes(const Keys& keys) {
  auto client = [](CurveKeyPair own, std::string server) {
    return [own, server](zmq::socket_t& socket) {
      UseCurveClient(socket, CurveClientKeys{own, server});
    };
  };
  const CurveKeyPair garbage{std::string(40, '0'), NewCurveKeyPair().secret_key};
  const std::string wrong_server = NewCurveKeyPair().public_key;
  std::vector<Probe> probes;
  for (const std::string port : {"gateway", "worker"}) {
    const CurveKeyPair& own = port == "gateway" ? keys.gateway : keys.worker;
    const CurveKeyPair& other = port == "gateway" ? keys.worker : keys.gateway;
    probes.push_back({"unknown client key", port, client(keys.stranger, keys.broker_public)});
    probes.push_back({"garbage client key", port, client(garbage, keys.broker_public)});
    probes.push_back({"valid key, wrong server key", port, client(own, wrong_server)});
    probes.push_back({"no CURVE (NULL)", port, [](zmq::socket_t&) {}});
    probes.push_back({fmt::format("the {} key", port == "gateway" ? "worker" : "gateway"), port,
                      client(other, keys.broker_public)});
    probes.push_back({fmt::format("the {} key (control)", port), port,
                      client(own, keys.broker_public), Handshake::kSucceeded});
  }
  return probes;
}

// What a hostile peer says once connected: a worker offers to take every type; a
// gateway submits a job with no Redis record.
void SendFirstMessage(zmq::socket_t& socket, const std::string& port) {
  if (port == "worker") {
    SendWire(socket, {}, wire::Ready{"rogue", {"upper", "sleep"}, 8, "cpu", "cpu", 0});
  } else {
    wire::SubmitJob job;
    job.id = "rogue-job";
    job.type = "upper";
    job.input = "\"rogue\"";
    SendWire(socket, {}, wire::Submit{1, {job}});
  }
}

// batchq_broker_peer_handshakes_total{port=...,verdict=...}; -1 when absent.
double CounterValue(const std::string& metrics, const std::string& port,
                    const std::string& verdict) {
  const std::string name = fmt::format(
      R"(batchq_broker_peer_handshakes_total{{port="{}",verdict="{}"}} )", port, verdict);
  const auto at = metrics.find(name);
  if (at == std::string::npos) return -1;
  return std::stod(metrics.substr(at + name.size()));
}

TEST(CurveTest, OnlyListedKeysReachTheBrokerAndJobsNeverReachOthers) {
  Stack stack(StackOptions{.workers = 0, .broker_args = {"--metrics-listen", "127.0.0.1:0"}});
  auto client = stack.Client();
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();

  Keys keys;
  keys.broker_public = ReadText(stack.broker_public_key_file());
  keys.gateway = *LoadCurveSecretFile(stack.gateway_secret_file());
  keys.worker = *LoadCurveSecretFile(stack.worker_secret_file());
  zmq::context_t context(1);
  std::vector<Probe> probes = Probes(keys);
  std::vector<std::unique_ptr<Peer>> peers;
  std::vector<Handshake> observed;
  for (std::size_t i = 0; i < probes.size(); ++i) {
    auto peer = std::make_unique<Peer>(context, std::to_string(i));
    probes[i].configure(peer->socket());
    peer->socket().connect(probes[i].port == "gateway" ? stack.broker_frontend()
                                                       : stack.broker_backend());
    // Only the hostile ones speak: the control peers prove the keys work.
    if (probes[i].expected == Handshake::kRefused) SendFirstMessage(peer->socket(), probes[i].port);
    observed.push_back(peer->Await());
    peers.push_back(std::move(peer));
  }

  // Jobs submitted while the hostile peers knock: no worker is registered, so if one
  // had got in as a worker these would be its.
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    auto job = client->PostJson("/v1/jobs", fmt::format(R"({{"type":"upper","input":"v{}"}})", i));
    ASSERT_TRUE(job);
    ASSERT_EQ(job->status, 202) << job->body;
    ids.push_back(JsonString(job->body, "id"));
  }
  auto types = client->Get("/v1/types");
  ASSERT_TRUE(types);
  EXPECT_NE(types->body.find(R"("workers":[])"), std::string::npos)
      << "a hostile peer registered as a worker: " << types->body;
  stack.AddWorker();
  for (const auto& id : ids) {
    EXPECT_EQ(JsonString(WaitTerminal(*client, id), "status"), "succeeded") << stack.Logs();
  }

  std::ofstream matrix("curve_matrix.md");
  matrix
      << "| port | probe | expected | observed | messages it received |\n|---|---|---|---|---|\n";
  for (std::size_t i = 0; i < probes.size(); ++i) {
    const std::size_t received = peers[i]->Received();
    const std::string row =
        fmt::format("| {} | {} | {} | {} | {} |", probes[i].port, probes[i].name,
                    ToString(probes[i].expected), ToString(observed[i]), received);
    matrix << row << "\n";
    std::cout << row << "\n";
    EXPECT_EQ(observed[i], probes[i].expected) << row;
    if (probes[i].expected == Handshake::kRefused) {
      EXPECT_EQ(received, 0u) << row;
    }
  }
  // The broker counts what its ZAP handler refused: the unknown key and the other
  // role's key on each port at least (the other probes fail before ZAP is asked).
  const std::string metrics = ScrapeMetrics(
      fmt::format("http://127.0.0.1:{}", LoggedMetricsPort(stack.broker().ReadLog())));
  for (const std::string port : {"gateway", "worker"}) {
    EXPECT_GE(CounterValue(metrics, port, "refused"), 2) << metrics;
    EXPECT_GE(CounterValue(metrics, port, "allowed"), 1) << metrics;
  }
}

// A process that must refuse to start: its exit code is not 0 and its log says why.
std::string RefusedStart(const Stack& stack, const std::vector<std::string>& argv) {
  ChildProcess process(argv, stack.dir() + "/refused.log");
  const int status = process.Wait(std::chrono::seconds(20));
  EXPECT_NE(status, 0) << "started: " << fmt::format("{}", fmt::join(argv, " "));
  return process.ReadLog();
}

TEST(CurveTest, NoProcessTalksPlainZeroMqOffLoopbackOrWithoutBeingAsked) {
  Stack stack(StackOptions{.workers = 0});
  const std::string free = fmt::format("tcp://127.0.0.1:{}", FreePort());
  const std::string wildcard = fmt::format("tcp://0.0.0.0:{}", FreePort());
  EXPECT_NE(RefusedStart(stack, {BATCHQ_BROKER_BIN, "--no-curve", "--frontend", wildcard,
                                 "--backend", free, "--redis-url", stack.redis_url()})
                .find("only allowed on loopback"),
            std::string::npos);
  EXPECT_NE(RefusedStart(stack, {BATCHQ_BROKER_BIN, "--frontend", free, "--backend",
                                 fmt::format("tcp://127.0.0.1:{}", FreePort()), "--redis-url",
                                 stack.redis_url()})
                .find("needs CURVE keys"),
            std::string::npos);
  EXPECT_NE(RefusedStart(stack, {BATCHQ_WORKER_BIN, "--no-curve", "--broker",
                                 "tcp://10.255.255.1:5556", "--redis-url", stack.redis_url()})
                .find("--no-curve is only allowed"),
            std::string::npos);
  EXPECT_NE(RefusedStart(stack, {BATCHQ_GATEWAY_BIN, "--port", "0", "--broker",
                                 stack.broker_frontend(), "--redis-url", stack.redis_url(),
                                 "--admin-key-file", stack.admin_key_file()})
                .find("needs CURVE keys"),
            std::string::npos);
}

TEST(CurveTest, AWorkerKeyCopiedIntoTheAllowListIsAdmittedWithoutARestart) {
  Stack stack(StackOptions{.workers = 0});
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  // A worker on "another host" makes its own pair; the broker does not know it yet.
  const std::string prefix = stack.keys_dir() + "/host-b";
  ASSERT_TRUE(WriteCurveKeyPair(prefix, NewCurveKeyPair()));
  const std::size_t worker = stack.AddWorker({}, prefix + ".key");
  auto client = stack.Client();
  auto job = client->PostJson("/v1/jobs", R"({"type":"upper","input":"admitted"})");
  ASSERT_TRUE(job);
  ASSERT_EQ(job->status, 202);
  const std::string id = JsonString(job->body, "id");
  // Refused while unlisted: the broker's log says so, and the job waits.
  ASSERT_TRUE(WaitFor([&] {
    return stack.broker().ReadLog().find("refused a peer") != std::string::npos;
  })) << stack.Logs();
  EXPECT_EQ(JsonString(client->Get("/v1/jobs/" + id)->body, "status"), "queued");
  std::filesystem::copy_file(prefix + ".pub", stack.worker_keys_dir() + "/host-b.pub");
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  EXPECT_EQ(JsonString(WaitTerminal(*client, id), "result"), "ADMITTED") << stack.Logs();
  EXPECT_TRUE(stack.worker(worker).running());
}

}  // namespace
}  // namespace batchq::test
