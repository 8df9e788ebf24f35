// batchq broker: parses flags, wires the Broker, runs it until SIGINT/SIGTERM.
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "broker/broker.h"
#include "common/logging.h"
#include "common/process_flags.h"
#include "common/stop_signal.h"

int main(int argc, char** argv) {
  batchq::BrokerConfig config;
  CLI::App app{
      "batchq broker: batches queued jobs by size and deadline and dispatches them to "
      "GPU workers.\nEvery flag can also be set through the environment variable "
      "shown in brackets."};
  batchq::ProcessFlags common;
  batchq::AddProcessFlags(app, common);
  int max_delay_us = static_cast<int>(config.defaults.max_delay.count());
  std::int64_t max_queue_wait_ms = config.defaults.max_queue_wait.count();
  int heartbeat_ms = static_cast<int>(config.heartbeat_interval.count());
  int sweep_ms = static_cast<int>(config.sweep_interval.count());
  int sweep_grace_ms = static_cast<int>(config.sweep_grace.count());
  batchq::AddMetricsFlag(app, config.metrics_listen);
  app.add_option("--frontend", config.frontend, "ZeroMQ endpoint gateways connect to")
      ->envname("BATCHQ_BROKER_FRONTEND")
      ->capture_default_str();
  app.add_option("--backend", config.backend, "ZeroMQ endpoint workers connect to")
      ->envname("BATCHQ_BROKER_BACKEND")
      ->capture_default_str();
  app.add_option(
         "--type", config.types,
         "Job type served, optionally with settings: "
         "NAME[:max_batch_size=N,max_delay_ms=N,max_queue=N,max_queue_wait_ms=N,preferred=N/M,"
         "max_batch_bytes=N,"
         "timeout_ms=N,max_run_ms=N,max_retries=N (retries after a retryable failure),"
         "retry_backoff_ms=N (before the first; doubled per retry),adaptive=0|1]; repeatable")
      ->envname("BATCHQ_TYPES")
      ->delimiter(';')
      ->capture_default_str();
  app.add_option("--max-batch-size", config.defaults.max_batch_size,
                 "Default largest batch per type")
      ->envname("BATCHQ_MAX_BATCH_SIZE")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-delay-us", max_delay_us,
                 "Default longest wait of a batch's oldest job, in microseconds")
      ->envname("BATCHQ_MAX_DELAY_US")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--max-queue", config.defaults.max_queue,
                 "Default queued jobs per type before submits get 429")
      ->envname("BATCHQ_MAX_QUEUE")
      ->capture_default_str();
  app.add_option("--max-queue-wait-ms", max_queue_wait_ms,
                 "Default bound on a type's projected queue wait (queued jobs / the rate its "
                 "workers drain them); past it submits get 429 queue_wait_exceeded with the "
                 "time until there is room as Retry-After. 0: no bound")
      ->envname("BATCHQ_MAX_QUEUE_WAIT_MS")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{86'400'000}))
      ->capture_default_str();
  app.add_option("--heartbeat-ms", heartbeat_ms, "Heartbeat interval to workers, milliseconds")
      ->envname("BATCHQ_HEARTBEAT_MS")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--heartbeat-liveness", config.heartbeat_liveness,
                 "Missed heartbeats before a worker is declared dead")
      ->envname("BATCHQ_HEARTBEAT_LIVENESS")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-attempts", config.max_attempts,
                 "Runs of a job whose worker was lost before it fails with worker_lost")
      ->envname("BATCHQ_MAX_ATTEMPTS")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  int aging_ms = static_cast<int>(config.aging_step.count());
  app.add_option("--aging-ms", aging_ms,
                 "Priority aging: a queued job gains one level per this many ms (0: off)")
      ->envname("BATCHQ_AGING_MS")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--sweep-ms", sweep_ms, "How often Redis is swept for jobs never received, ms")
      ->envname("BATCHQ_SWEEP_MS")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--sweep-grace-ms", sweep_grace_ms,
                 "Age a pending job must reach before the sweep takes it, ms")
      ->envname("BATCHQ_SWEEP_GRACE_MS")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  int running_lease_ms = static_cast<int>(config.running_lease.count());
  app.add_option("--running-lease-ms", running_lease_ms,
                 "A running job no worker holds is re-run after this many ms (broker restarts)")
      ->envname("BATCHQ_RUNNING_LEASE_MS")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--tenant-max-queued-bytes", config.tenant_max_queued_bytes,
                 "Bytes of queued input one tenant may hold over all types; past it, "
                 "quota_exceeded (429); 0: no cap")
      ->envname("BATCHQ_TENANT_MAX_QUEUED_BYTES")
      ->capture_default_str();
  app.add_option("--max-unchecked-jobs", config.max_unchecked_jobs,
                 "Submitted jobs waiting for the check that their record exists in Redis; "
                 "past it, SUBMITs are refused overloaded (503)")
      ->envname("BATCHQ_MAX_UNCHECKED_JOBS")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  int queue_lifetime_s = static_cast<int>(config.queue_lifetime.count());
  app.add_option("--queue-lifetime-s", queue_lifetime_s,
                 "Longest a job waits in its queue, whatever its own timeout: past it, it ends "
                 "expired (1..86400 s)")
      ->envname("BATCHQ_QUEUE_LIFETIME_S")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  app.add_option("--curve-secret-file", config.curve_secret_file,
                 "The broker's CURVE secret key (Z85, mode 0600; made by `batchq keygen`); "
                 "gateways and workers are given its public key")
      ->envname("BATCHQ_CURVE_SECRET_FILE");
  app.add_option("--gateway-keys", config.gateway_keys_dir,
                 "Directory of the public keys (*.pub) allowed on --frontend; re-read when "
                 "it changes")
      ->envname("BATCHQ_GATEWAY_KEYS");
  app.add_option("--worker-keys", config.worker_keys_dir,
                 "Directory of the public keys (*.pub) allowed on --backend; re-read when it "
                 "changes")
      ->envname("BATCHQ_WORKER_KEYS");
  app.add_flag("--no-curve", config.no_curve,
               "Plain ZeroMQ without authentication: refused unless both endpoints are loopback")
      ->envname("BATCHQ_NO_CURVE");
  int lease_ms = static_cast<int>(config.lease.count());
  app.add_option("--lease-ms", lease_ms,
                 "The active broker's lease in Redis, ms: run several brokers on one Redis and "
                 "one is active while the others stand by, taking over within about this "
                 "long after it stops")
      ->envname("BATCHQ_LEASE_MS")
      ->check(CLI::Range(300, 600000))
      ->capture_default_str();
  app.add_option("--ready-file", config.ready_file,
                 "Write the bound endpoints here as JSON once listening (for tests and scripts)")
      ->envname("BATCHQ_READY_FILE");
  CLI11_PARSE(app, argc, argv);

  config.defaults.max_delay = std::chrono::microseconds(max_delay_us);
  config.defaults.max_queue_wait = std::chrono::milliseconds(max_queue_wait_ms);
  config.heartbeat_interval = std::chrono::milliseconds(heartbeat_ms);
  config.aging_step = std::chrono::milliseconds(aging_ms);
  config.sweep_interval = std::chrono::milliseconds(sweep_ms);
  config.sweep_grace = std::chrono::milliseconds(sweep_grace_ms);
  config.running_lease = std::chrono::milliseconds(running_lease_ms);
  config.queue_lifetime = std::chrono::seconds(queue_lifetime_s);
  config.lease = std::chrono::milliseconds(lease_ms);
  config.redis_url = common.redis_url;
  config.redis_password_file = common.redis_password_file;
  config.redis_sentinel_password_file = common.redis_sentinel_password_file;
  config.key_prefix = common.key_prefix;
  config.result_ttl = common.result_ttl();

  batchq::SetUpLogging("broker", common.log_level, common.log_json);
  // Held until the broker runs: a stop during its start ends it once built.
  batchq::StopSignals signals;
  try {
    batchq::Broker broker(config);
    broker.Run(signals.Listen());
  } catch (const std::exception& e) {
    spdlog::critical("broker cannot start: {}", e.what());
    return 1;
  }
  return 0;
}
