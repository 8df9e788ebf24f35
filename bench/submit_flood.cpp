// An attacker holding a stolen gateway CURVE key: floods the broker's gateway port with
// SUBMITs of junk jobs (no Redis record behind them, top priority, a new tenant per
// message so that per-tenant caps do not apply), for a bounded time, and prints what the
// broker answered. bench/hostile_probe.py runs it beside real traffic and reports what
// the flood did to real jobs (docs/SECURITY.md).
//
//   submit_flood --broker tcp://127.0.0.1:5555 --curve-secret-file .run/keys/gateway.key
//                --broker-public-key-file .run/keys/broker.pub [--seconds 9]
//                [--jobs-per-message 100] [--type upper]
#include <chrono>
#include <cstdio>
#include <map>
#include <string>

#include <fmt/format.h>
#include <zmq.hpp>

#include "common/command_line.h"
#include "common/curve_socket.h"
#include "common/job_limits.h"
#include "common/zmq_transport.h"

namespace {

using Clock = std::chrono::steady_clock;

batchq::wire::Submit JunkSubmit(std::uint64_t n, int jobs, const std::string& type) {
  batchq::wire::Submit submit;
  submit.request_id = n;
  const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  for (int j = 0; j < jobs; ++j) {
    batchq::wire::SubmitJob& job = submit.jobs.emplace_back();
    job.id = fmt::format("junk{:012}{:04}", n, j);
    job.type = type;
    job.priority = batchq::kMaxPriority;
    job.input = "\"junk\"";
    job.created_us = now_us;
    job.tenant = fmt::format("junk{}", n);
  }
  return submit;
}

}  // namespace

int main(int argc, char** argv) {
  batchq::CommandLine command_line{
      "Floods a broker's gateway port with junk SUBMITs (a stolen gateway key)"};
  std::string broker = "tcp://127.0.0.1:5555";
  std::string secret_file, public_file, type = "upper";
  int seconds = 9, jobs_per_message = 100;
  command_line.Option("--broker", broker, "The broker's gateway-facing endpoint (loopback only)");
  command_line.Option("--curve-secret-file", secret_file, "The stolen gateway secret key")
      .Required();
  command_line.Option("--broker-public-key-file", public_file, "The broker's public key")
      .Required();
  command_line.Option("--seconds", seconds, "How long to flood")
      .Check(batchq::FlagCheck::Range(1, 60));
  command_line.Option("--jobs-per-message", jobs_per_message, "Jobs in each junk SUBMIT")
      .Check(batchq::FlagCheck::Range(1, 1000));
  command_line.Option("--type", type, "The junk jobs' type");
  if (const auto exit_code = command_line.Parse(argc, argv)) return *exit_code;
  if (!batchq::IsLoopbackEndpoint(broker)) {
    std::fprintf(stderr, "floods go to loopback only\n");
    return 2;
  }
  auto keys = batchq::LoadCurveClientKeys(secret_file, public_file, false, broker);
  if (!keys) {
    std::fprintf(stderr, "%s\n", keys.error().message.c_str());
    return 2;
  }
  zmq::context_t context;
  zmq::socket_t socket(context, zmq::socket_type::dealer);
  batchq::ApplySocketDefaults(socket);
  batchq::UseCurveClient(socket, **keys);
  socket.connect(broker);

  std::uint64_t sent_messages = 0, unsent = 0;
  std::map<std::string, std::uint64_t> verdicts;  // "accepted" or the refusal's code
  const auto drain = [&] {
    while (auto received = batchq::ReceiveWire(socket, false)) {
      if (!received->message) continue;
      if (const auto* accept = std::get_if<batchq::wire::Accept>(&*received->message)) {
        for (const auto& verdict : accept->verdicts) {
          ++verdicts[verdict.code.empty() ? "accepted" : verdict.code];
        }
      }
    }
  };
  const auto end = Clock::now() + std::chrono::seconds(seconds);
  while (Clock::now() < end) {
    if (batchq::SendWire(socket, "", JunkSubmit(sent_messages, jobs_per_message, type))) {
      ++sent_messages;
    } else {
      ++unsent;  // the send queue is full: the broker is not keeping up
    }
    drain();
  }
  // Answers still in flight.
  const auto grace = Clock::now() + std::chrono::seconds(2);
  while (Clock::now() < grace) {
    zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
    batchq::PollOrSignal(&item, 1, std::chrono::milliseconds(100));
    drain();
  }
  std::string answers;
  for (const auto& [code, count] : verdicts) {
    answers += fmt::format("{}\"{}\":{}", answers.empty() ? "" : ",", code, count);
  }
  std::printf(
      "{\"seconds\":%d,\"messages_sent\":%llu,\"jobs_sent\":%llu,\"send_queue_full\":%llu,"
      "\"answers\":{%s}}\n",
      seconds, static_cast<unsigned long long>(sent_messages),
      static_cast<unsigned long long>(sent_messages * jobs_per_message),
      static_cast<unsigned long long>(unsent), answers.c_str());
  return 0;
}
