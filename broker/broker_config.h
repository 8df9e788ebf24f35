#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/type_settings.h"

namespace batchq {

// Everything the broker is told at start; validated once in main, then read-only.
struct BrokerConfig {
  std::string frontend = "tcp://127.0.0.1:5555";  // gateways connect here
  std::string backend = "tcp://127.0.0.1:5556";   // workers connect here
  std::string redis_url = "redis://127.0.0.1:6379";
  std::string redis_password_file;           // read at start; replaces a password in redis_url
  std::string redis_sentinel_password_file;  // read at start: the sentinels' requirepass
  std::string metrics_listen;                // HOST:PORT for GET /metrics; empty: none
  std::string key_prefix = "bq:";
  // The job types served, with optional per-type settings: "upper", "sleep:max_batch_size=64".
  // The only ones: a type a worker announces and this list lacks is ignored.
  std::vector<std::string> types = {"upper", "sleep", "mlp", "render"};
  TypeSettings defaults;
  std::chrono::milliseconds heartbeat_interval{1000};
  std::uint32_t heartbeat_liveness = 3;  // intervals of silence before a worker is dead
  std::uint32_t max_attempts = 3;
  // Bytes of queued input one tenant may hold over all types; 0: no cap.
  std::uint64_t tenant_max_queued_bytes = 256u << 20;
  // Submitted jobs awaiting their record check (RecordCheck) past which SUBMITs are
  // refused at once (overloaded), so a flood cannot grow the broker's memory.
  std::size_t max_unchecked_jobs = 200'000;
  // Priority aging: a queued job gains one priority level per this much waiting.
  std::chrono::milliseconds aging_step{100};
  std::chrono::milliseconds sweep_interval{2000};
  // Pending jobs younger than this are left to the gateway's own SUBMIT.
  std::chrono::milliseconds sweep_grace{3000};
  // A job Redis says is running, that no worker of ours holds, started longer ago than
  // this is taken as lost (its broker restarted and its worker died) and run again; the
  // attempt fencing keeps a late result from the first run from counting.
  std::chrono::milliseconds running_lease{60000};
  // Longest a job waits queued, whatever its own timeout (at most a day).
  std::chrono::seconds queue_lifetime{std::chrono::hours(24)};
  std::chrono::seconds result_ttl{std::chrono::hours(24)};
  // CURVE: the broker's secret key, and the directories of public keys allowed on the
  // gateway-facing (frontend) and worker-facing (backend) ports. no_curve runs plain
  // ZeroMQ, which is refused unless both endpoints are loopback.
  std::string curve_secret_file;
  std::string gateway_keys_dir;
  std::string worker_keys_dir;
  bool no_curve = false;
  std::chrono::milliseconds allow_list_reload{1000};
  // The active broker's lease in Redis (BrokerLease): renewed every third of it; a
  // standby takes over within about this long after the active one stops renewing.
  std::chrono::milliseconds lease{3000};
  std::string ready_file;  // when set, the bound endpoints are written here as JSON
};

}  // namespace batchq
