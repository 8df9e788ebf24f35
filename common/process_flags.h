#pragma once
// Flags every batchq process shares, bound in one place so that their names,
// environment twins and help text agree across broker, gateway and worker.

#include <chrono>
#include <string>

#include <CLI/CLI.hpp>

namespace batchq {

struct ProcessFlags {
  std::string redis_url = "redis://127.0.0.1:6379";
  std::string key_prefix = "bq:";
  std::string log_level = "info";
  bool log_json = false;
  long result_ttl_s = 24 * 3600;

  std::chrono::seconds result_ttl() const { return std::chrono::seconds(result_ttl_s); }
};

inline void AddProcessFlags(CLI::App& app, ProcessFlags& flags) {
  app.add_option("--redis-url", flags.redis_url, "Redis holding job records (or unix:///path)")
      ->envname("BATCHQ_REDIS_URL")
      ->capture_default_str();
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

}  // namespace batchq
