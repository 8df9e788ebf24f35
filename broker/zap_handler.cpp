#include "broker/zap_handler.h"

#include <algorithm>
#include <array>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <zmq_addon.hpp>

#include "broker/key_directory.h"
#include "common/thread_name.h"
#include "common/zmq_transport.h"

namespace batchq {
namespace {

using Clock = std::chrono::steady_clock;

// The fixed address libzmq sends ZAP requests to, in the socket's own context.
constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";

std::string Z85(const zmq::message_t& raw) {
  if (raw.size() != 32) return {};
  std::array<char, 41> text{};
  zmq_z85_encode(text.data(), static_cast<const std::uint8_t*>(raw.data()), 32);
  return text.data();
}

}  // namespace

ZapHandler::ZapHandler(zmq::context_t& context, Options options)
    : options_(std::move(options)), socket_(context, zmq::socket_type::rep) {
  for (const auto& domain : options_.domains) {
    auto fingerprint = KeyDirectoryFingerprint(domain.key_dir);
    auto keys = ReadKeyDirectory(domain.key_dir);
    if (!fingerprint || !keys) {
      throw std::runtime_error((fingerprint ? keys.error() : fingerprint.error()).message);
    }
    spdlog::info("allow-list '{}': {} keys from {}", domain.name, keys->size(), domain.key_dir);
    allow_list_.Set(domain.name, std::move(*keys));
    fingerprints_.push_back(std::move(*fingerprint));
  }
  socket_.set(zmq::sockopt::linger, 0);
  try {
    socket_.bind(kZapEndpoint);
  } catch (const zmq::error_t& e) {
    throw std::runtime_error(fmt::format("cannot start the ZAP handler: {}", e.what()));
  }
  thread_ = std::thread([this] {
    NameThisThread("zap");
    Loop();
  });
}

ZapHandler::~ZapHandler() {
  stop_.store(true);
  wake_.Notify();
  thread_.join();
}

void ZapHandler::Loop() {
  auto next_reload = Clock::now() + options_.reload_interval;
  while (!stop_.load()) {
    zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0},
                               {nullptr, wake_.fd(), ZMQ_POLLIN, 0}};
    // Asleep until a request, the next reload or the stop.
    const auto timeout = std::chrono::ceil<std::chrono::milliseconds>(next_reload - Clock::now());
    PollOrSignal(items, 2, std::max(timeout, std::chrono::milliseconds(0)));
    if (items[0].revents & ZMQ_POLLIN) Answer();
    if (Clock::now() >= next_reload) {
      ReloadChanged();
      next_reload = Clock::now() + options_.reload_interval;
    }
  }
}

void ZapHandler::Answer() {
  std::vector<zmq::message_t> request;
  if (!zmq::recv_multipart(socket_, std::back_inserter(request), zmq::recv_flags::dontwait)) {
    return;
  }
  // version, request id, domain, address, routing id, mechanism, credentials...
  PeerVerdict verdict{false, "500", "malformed ZAP request", ""};
  std::string domain;
  std::string address;
  if (request.size() >= 6 && request[0].to_string_view() == "1.0") {
    domain = request[2].to_string();
    address = request[3].to_string();
    const std::string key = request.size() >= 7 ? Z85(request[6]) : std::string();
    verdict = allow_list_.Decide(domain, request[5].to_string_view(), key);
  }
  const std::string request_id = request.size() >= 2 ? request[1].to_string() : std::string();
  std::array<zmq::const_buffer, 6> reply{
      zmq::str_buffer("1.0"),           zmq::buffer(request_id),
      zmq::buffer(verdict.status_code), zmq::buffer(verdict.status_text),
      zmq::buffer(verdict.user_id),     zmq::str_buffer("")};
  zmq::send_multipart(socket_, reply);
  if (options_.on_decision) options_.on_decision(domain, verdict);
  if (!verdict.allowed) LogRefusal(domain, address, verdict);
}

void ZapHandler::LogRefusal(std::string_view domain, std::string_view address,
                            const PeerVerdict& verdict) {
  const auto held_back = refusal_log_.Admit(address, Clock::now());
  if (!held_back) return;
  spdlog::warn("refused a peer from {} on the {} port: {}{}", address, domain, verdict.status_text,
               HeldBackNote(*held_back));
}

void ZapHandler::ReloadChanged() {
  for (std::size_t i = 0; i < options_.domains.size(); ++i) {
    const auto& domain = options_.domains[i];
    auto fingerprint = KeyDirectoryFingerprint(domain.key_dir);
    if (!fingerprint) {
      spdlog::warn("allow-list '{}' kept as it was: {}", domain.name, fingerprint.error().message);
      continue;
    }
    if (*fingerprint == fingerprints_[i]) continue;
    auto keys = ReadKeyDirectory(domain.key_dir);
    if (!keys) continue;
    spdlog::info("allow-list '{}' reloaded: {} keys", domain.name, keys->size());
    allow_list_.Set(domain.name, std::move(*keys));
    fingerprints_[i] = std::move(*fingerprint);
  }
}

}  // namespace batchq
