#pragma once
// Flags every batchq process shares, bound in one place so that their names,
// environment twins and help text agree across broker, gateway and worker.

#include <chrono>
#include <string>

#include <CLI/CLI.hpp>

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

inline void AddProcessFlags(CLI::App& app, ProcessFlags& flags) {
  app.add_option("--redis-url", flags.redis_url,
                 "Redis holding job records: redis://[user@]host:port[/db], unix:///path, or "
                 "the master that Redis Sentinel names: "
                 "redis-sentinel://[user@]host:26379,host:26380,.../MASTER[/db]")
      ->envname("BATCHQ_REDIS_URL")
      ->capture_default_str();
  app.add_option("--redis-password-file", flags.redis_password_file,
                 "File holding the Redis password of the --redis-url user (keeps it out of "
                 "ps); replaces a password in the URL")
      ->envname("BATCHQ_REDIS_PASSWORD_FILE");
  app.add_option("--redis-sentinel-password-file", flags.redis_sentinel_password_file,
                 "File holding the password the sentinels of a redis-sentinel:// URL ask for "
                 "(their requirepass); none when not given")
      ->envname("BATCHQ_REDIS_SENTINEL_PASSWORD_FILE");
  app.add_option("--key-prefix", flags.key_prefix, "Prefix of every Redis key")
      ->envname("BATCHQ_KEY_PREFIX")
      ->capture_default_str();
  app.add_option("--result-ttl-s", flags.result_ttl_s, "Seconds a finished job's record is kept")
      ->envname("BATCHQ_RESULT_TTL_S")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--log-level", flags.log_level, "trace|debug|info|warn|error")
      ->envname("BATCHQ_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();
  app.add_flag("--log-json", flags.log_json, "Log one JSON object per line")
      ->envname("BATCHQ_LOG_JSON");
}

// For processes without an HTTP server of their own (broker, workers).
inline void AddMetricsFlag(CLI::App& app, std::string& listen) {
  app.add_option("--metrics-listen", listen,
                 "Serve Prometheus metrics at http://HOST:PORT/metrics (port 0: any free "
                 "port); empty: off")
      ->envname("BATCHQ_METRICS_LISTEN");
}

// How a gateway or worker authenticates to the broker (CURVE). Only paths: secrets
// never appear on a command line.
struct CurveClientFlags {
  std::string secret_file;
  std::string broker_public_file;
  bool no_curve = false;
};

inline void AddCurveClientFlags(CLI::App& app, CurveClientFlags& flags) {
  app.add_option("--curve-secret-file", flags.secret_file,
                 "This process's CURVE secret key (Z85, mode 0600; made by `batchq keygen`); "
                 "its public key must be in the broker's allow-list")
      ->envname("BATCHQ_CURVE_SECRET_FILE");
  app.add_option("--broker-public-key-file", flags.broker_public_file,
                 "The broker's CURVE public key (Z85)")
      ->envname("BATCHQ_BROKER_PUBLIC_KEY_FILE");
  app.add_flag("--no-curve", flags.no_curve,
               "Talk to the broker without CURVE: only allowed for a broker on loopback")
      ->envname("BATCHQ_NO_CURVE");
}

}  // namespace batchq
