#pragma once
// The broker's ZAP handler (ZeroMQ RFC 27): libzmq asks it about every CURVE client
// before the handshake completes, and the answer comes from PeerAllowList. Without a
// ZAP handler libzmq would accept any client that knows the broker's public key, so
// this object must exist, bound, before the broker's sockets bind.
//
// Each domain's keys come from a directory of *.pub files, re-read when the directory
// changes (checked every `reload_interval`), so a worker on a new host is admitted by
// copying its public key in, without a restart. Removing a key refuses that peer's next
// handshake; a connection already made stays up until it drops.
//
// Owns one thread and one socket in the caller's context; the context must outlive it.

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "broker/peer_allow_list.h"
#include "common/log_throttle.h"
#include "common/wake_signal.h"

namespace batchq {

class ZapHandler {
 public:
  struct Domain {
    std::string name;  // the sockets' zap_domain
    std::string key_dir;
  };
  struct Options {
    std::vector<Domain> domains;
    std::chrono::milliseconds reload_interval{1000};
    // Called on the handler's thread for every decision (metrics); may be empty.
    std::function<void(std::string_view domain, const PeerVerdict&)> on_decision;
  };

  // Reads every directory and binds; throws std::runtime_error when it cannot (start-up).
  ZapHandler(zmq::context_t& context, Options options);
  ~ZapHandler();
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

 private:
  void Loop();
  void Answer();
  void ReloadChanged();
  void LogRefusal(std::string_view domain, std::string_view address, const PeerVerdict& verdict);

  Options options_;
  zmq::socket_t socket_;
  PeerAllowList allow_list_;
  std::vector<std::string> fingerprints_;             // per domain, as last read
  LogThrottle refusal_log_{std::chrono::seconds(1)};  // one line per address per second
  std::atomic<bool> stop_{false};
  WakeSignal wake_;  // the stop, so that the thread sleeps until its next reload
  std::thread thread_;
};

}  // namespace batchq
