#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/curve_socket.h"
#include "gpu_worker/cpu_handlers.h"
#include "gpu_worker/handler_factory.h"

namespace batchq {

// Everything a worker is told at start; validated once in main, then read-only.
struct WorkerConfig {
  std::string broker = "tcp://127.0.0.1:5556";  // the broker's backend endpoint
  std::optional<CurveClientKeys> curve;         // nullopt: plain (loopback only)
  std::string redis_url = "redis://127.0.0.1:6379";
  std::string redis_password_file;           // read at start; replaces a password in redis_url
  std::string redis_sentinel_password_file;  // read at start: the sentinels' requirepass
  std::string key_prefix = "bq:";
  std::string name;  // default: hostname-pid
  std::vector<std::string> types = {"upper", "sleep", "mlp", "render"};
  std::string backend = "auto";  // auto|cuda|cpu
  int device = 0;
  std::uint32_t credits = 2;  // batches held at once: one running, one on the doorstep
  SleepCost sleep;
  std::chrono::milliseconds heartbeat_interval{1000};
  std::uint32_t heartbeat_liveness = 3;
  // A type whose last batch ran for less is claimed at write (claim_timing.h); 0: never.
  std::chrono::microseconds claim_at_write_below{std::chrono::milliseconds(5)};
  std::chrono::seconds result_ttl{std::chrono::hours(24)};
  MlpOptions mlp;
  std::vector<std::string> handler_libs;  // plugin shared libraries; each adds its type
  std::string handler_config;             // passed to every plugin's create() and setup()
  // TYPE=FILE: a job type served by a Python file (python_handler.h).
  std::vector<std::string> python_handlers;
  std::string metrics_listen;        // HOST:PORT for GET /metrics; empty: none
  std::string fault_crash_on_input;  // reliability tests only; see BatchExecutor::Options
};

}  // namespace batchq
