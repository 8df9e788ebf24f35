#pragma once
// Flags every batchq process shares, bound in one place so that their names,
// environment twins and help text agree across broker, gateway and worker.

#include <chrono>
#include <string>

#include "common/command_line.h"

namespace batchq {

struct ProcessFlags {
  std::string redis_url = "redis://127.0.0.1:6379";
  std::string redis_password_file;
  std::string redis_sentinel_password_file;
  std::string key_prefix = "bq:";
  std::string log_level = "info";
  bool log_json = false;
  long result_ttl_s = 24 * 3600;

  std::chrono::seconds result_ttl() const { return std::chrono::seconds(result_ttl_s); }
};

inline void AddProcessFlags(CommandLine& command_line, ProcessFlags& flags) {
  command_line
      .Option("--redis-url", flags.redis_url,
              "Redis holding job records: redis://[user@]host:port[/db], unix:///path, or "
              "the master that Redis Sentinel names: "
              "redis-sentinel://[user@]host:26379,host:26380,.../MASTER[/db]")
      .Env("BATCHQ_REDIS_URL")
      .ShowDefault();
  command_line
      .Option("--redis-password-file", flags.redis_password_file,
              "File holding the Redis password of the --redis-url user (keeps it out of "
              "ps); replaces a password in the URL")
      .Env("BATCHQ_REDIS_PASSWORD_FILE");
  command_line
      .Option("--redis-sentinel-password-file", flags.redis_sentinel_password_file,
              "File holding the password the sentinels of a redis-sentinel:// URL ask for "
              "(their requirepass); none when not given")
      .Env("BATCHQ_REDIS_SENTINEL_PASSWORD_FILE");
  command_line.Option("--key-prefix", flags.key_prefix, "Prefix of every Redis key")
      .Env("BATCHQ_KEY_PREFIX")
      .ShowDefault();
  command_line
      .Option("--result-ttl-s", flags.result_ttl_s, "Seconds a finished job's record is kept")
      .Env("BATCHQ_RESULT_TTL_S")
      .Check(FlagCheck::Positive())
      .ShowDefault();
  command_line.Option("--log-level", flags.log_level, "trace|debug|info|warn|error")
      .Env("BATCHQ_LOG_LEVEL")
      .Check(FlagCheck::OneOf({"trace", "debug", "info", "warn", "error"}))
      .ShowDefault();
  command_line.Switch("--log-json", flags.log_json, "Log one JSON object per line")
      .Env("BATCHQ_LOG_JSON");
}

// For processes without an HTTP server of their own (broker, workers).
inline void AddMetricsFlag(CommandLine& command_line, std::string& listen) {
  command_line
      .Option("--metrics-listen", listen,
              "Serve Prometheus metrics at http://HOST:PORT/metrics (port 0: any free "
              "port); empty: off")
      .Env("BATCHQ_METRICS_LISTEN");
}

// How a gateway or worker authenticates to the broker (CURVE). Only paths: secrets
// never appear on a command line.
struct CurveClientFlags {
  std::string secret_file;
  std::string broker_public_file;
  bool no_curve = false;
};

inline void AddCurveClientFlags(CommandLine& command_line, CurveClientFlags& flags) {
  command_line
      .Option("--curve-secret-file", flags.secret_file,
              "This process's CURVE secret key (Z85, mode 0600; made by `batchq keygen`); "
              "its public key must be in the broker's allow-list")
      .Env("BATCHQ_CURVE_SECRET_FILE");
  command_line
      .Option("--broker-public-key-file", flags.broker_public_file,
              "The broker's CURVE public key (Z85)")
      .Env("BATCHQ_BROKER_PUBLIC_KEY_FILE");
  command_line
      .Switch("--no-curve", flags.no_curve,
              "Talk to the broker without CURVE: only allowed for a broker on loopback")
      .Env("BATCHQ_NO_CURVE");
}

}  // namespace batchq
