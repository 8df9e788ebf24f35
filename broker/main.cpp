// batchq broker: parses flags, wires the Broker, runs it until SIGINT/SIGTERM.
#include <spdlog/spdlog.h>

#include "broker/broker.h"
#include "common/command_line.h"
#include "common/logging.h"
#include "common/process_flags.h"
#include "common/stop_signal.h"

int main(int argc, char** argv) {
  batchq::BrokerConfig config;
  batchq::CommandLine command_line{
      "batchq broker: batches queued jobs by size and deadline and dispatches them to "
      "GPU workers.\nEvery flag can also be set through the environment variable "
      "shown in brackets."};
  batchq::ProcessFlags common;
  batchq::AddProcessFlags(command_line, common);
  int max_delay_us = static_cast<int>(config.defaults.max_delay.count());
  std::int64_t max_queue_wait_ms = config.defaults.max_queue_wait.count();
  int heartbeat_ms = static_cast<int>(config.heartbeat_interval.count());
  int sweep_ms = static_cast<int>(config.sweep_interval.count());
  int sweep_grace_ms = static_cast<int>(config.sweep_grace.count());
  batchq::AddMetricsFlag(command_line, config.metrics_listen);
  command_line.Option("--frontend", config.frontend, "ZeroMQ endpoint gateways connect to")
      .Env("BATCHQ_BROKER_FRONTEND")
      .ShowDefault();
  command_line.Option("--backend", config.backend, "ZeroMQ endpoint workers connect to")
      .Env("BATCHQ_BROKER_BACKEND")
      .ShowDefault();
  command_line
      .Option("--type", config.types,
              "Job type served, optionally with settings: "
              "NAME[:max_batch_size=N,max_delay_ms=N,max_queue=N,max_queue_wait_ms=N,preferred=N/M,"
              "max_batch_bytes=N,"
              "timeout_ms=N,max_run_ms=N,max_retries=N (retries after a retryable failure),"
              "retry_backoff_ms=N (before the first; doubled per retry),adaptive=0|1]; repeatable")
      .Env("BATCHQ_TYPES")
      .Delimiter(';')
      .ShowDefault();
  command_line
      .Option("--max-batch-size", config.defaults.max_batch_size, "Default largest batch per type")
      .Env("BATCHQ_MAX_BATCH_SIZE")
      .Check(batchq::FlagCheck::Positive())
      .ShowDefault();
  command_line
      .Option("--max-delay-us", max_delay_us,
              "Default longest wait of a batch's oldest job, in microseconds")
      .Env("BATCHQ_MAX_DELAY_US")
      .Check(batchq::FlagCheck::NonNegative())
      .ShowDefault();
  command_line
      .Option("--max-queue", config.defaults.max_queue,
              "Default queued jobs per type before submits get 429")
      .Env("BATCHQ_MAX_QUEUE")
      .ShowDefault();
  command_line
      .Option("--max-queue-wait-ms", max_queue_wait_ms,
              "Default bound on a type's projected queue wait (queued jobs / the rate its "
              "workers drain them); past it submits get 429 queue_wait_exceeded with the "
              "time until there is room as Retry-After. 0: no bound")
      .Env("BATCHQ_MAX_QUEUE_WAIT_MS")
      .Check(batchq::FlagCheck::Range(std::int64_t{0}, std::int64_t{86'400'000}))
      .ShowDefault();
  command_line.Option("--heartbeat-ms", heartbeat_ms, "Heartbeat interval to workers, milliseconds")
      .Env("BATCHQ_HEARTBEAT_MS")
      .Check(batchq::FlagCheck::Positive())
      .ShowDefault();
  command_line
      .Option("--heartbeat-liveness", config.heartbeat_liveness,
              "Missed heartbeats before a worker is declared dead")
      .Env("BATCHQ_HEARTBEAT_LIVENESS")
      .Check(batchq::FlagCheck::Positive())
      .ShowDefault();
  command_line
      .Option("--max-attempts", config.max_attempts,
              "Runs of a job whose worker was lost before it fails with worker_lost")
      .Env("BATCHQ_MAX_ATTEMPTS")
      .Check(batchq::FlagCheck::Positive())
      .ShowDefault();
  int aging_ms = static_cast<int>(config.aging_step.count());
  command_line
      .Option("--aging-ms", aging_ms,
              "Priority aging: a queued job gains one level per this many ms (0: off)")
      .Env("BATCHQ_AGING_MS")
      .Check(batchq::FlagCheck::NonNegative())
      .ShowDefault();
  command_line
      .Option("--sweep-ms", sweep_ms, "How often Redis is swept for jobs never received, ms")
      .Env("BATCHQ_SWEEP_MS")
      .Check(batchq::FlagCheck::Positive())
      .ShowDefault();
  command_line
      .Option("--sweep-grace-ms", sweep_grace_ms,
              "Age a pending job must reach before the sweep takes it, ms")
      .Env("BATCHQ_SWEEP_GRACE_MS")
      .Check(batchq::FlagCheck::NonNegative())
      .ShowDefault();
  int running_lease_ms = static_cast<int>(config.running_lease.count());
  command_line
      .Option("--running-lease-ms", running_lease_ms,
              "A running job no worker holds is re-run after this many ms (broker restarts)")
      .Env("BATCHQ_RUNNING_LEASE_MS")
      .Check(batchq::FlagCheck::Positive())
      .ShowDefault();
  command_line
      .Option("--tenant-max-queued-bytes", config.tenant_max_queued_bytes,
              "Bytes of queued input one tenant may hold over all types; past it, "
              "quota_exceeded (429); 0: no cap")
      .Env("BATCHQ_TENANT_MAX_QUEUED_BYTES")
      .ShowDefault();
  command_line
      .Option("--max-unchecked-jobs", config.max_unchecked_jobs,
              "Submitted jobs waiting for the check that their record exists in Redis; "
              "past it, SUBMITs are refused overloaded (503)")
      .Env("BATCHQ_MAX_UNCHECKED_JOBS")
      .Check(batchq::FlagCheck::Positive())
      .ShowDefault();
  int queue_lifetime_s = static_cast<int>(config.queue_lifetime.count());
  command_line
      .Option("--queue-lifetime-s", queue_lifetime_s,
              "Longest a job waits in its queue, whatever its own timeout: past it, it ends "
              "expired (1..86400 s)")
      .Env("BATCHQ_QUEUE_LIFETIME_S")
      .Check(batchq::FlagCheck::Range(1, 86400))
      .ShowDefault();
  command_line
      .Option("--curve-secret-file", config.curve_secret_file,
              "The broker's CURVE secret key (Z85, mode 0600; made by `batchq keygen`); "
              "gateways and workers are given its public key")
      .Env("BATCHQ_CURVE_SECRET_FILE");
  command_line
      .Option("--gateway-keys", config.gateway_keys_dir,
              "Directory of the public keys (*.pub) allowed on --frontend; re-read when "
              "it changes")
      .Env("BATCHQ_GATEWAY_KEYS");
  command_line
      .Option("--worker-keys", config.worker_keys_dir,
              "Directory of the public keys (*.pub) allowed on --backend; re-read when it "
              "changes")
      .Env("BATCHQ_WORKER_KEYS");
  command_line
      .Switch("--no-curve", config.no_curve,
              "Plain ZeroMQ without authentication: refused unless both endpoints are loopback")
      .Env("BATCHQ_NO_CURVE");
  int lease_ms = static_cast<int>(config.lease.count());
  command_line
      .Option("--lease-ms", lease_ms,
              "The active broker's lease in Redis, ms: run several brokers on one Redis and "
              "one is active while the others stand by, taking over within about this "
              "long after it stops")
      .Env("BATCHQ_LEASE_MS")
      .Check(batchq::FlagCheck::Range(300, 600000))
      .ShowDefault();
  command_line
      .Option("--ready-file", config.ready_file,
              "Write the bound endpoints here as JSON once listening (for tests and scripts)")
      .Env("BATCHQ_READY_FILE");
  if (const auto exit_code = command_line.Parse(argc, argv)) return *exit_code;

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
