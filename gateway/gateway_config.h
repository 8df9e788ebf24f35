#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace batchq {

// Everything the gateway is told at start; validated once in main, then read-only.
struct GatewayConfig {
  std::string listen_address = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: any free port (written to ready_file)
  std::string broker = "tcp://127.0.0.1:5555";
  std::string redis_url = "redis://127.0.0.1:6379";
  std::string redis_password_file;           // read at start; replaces a password in redis_url
  std::string redis_sentinel_password_file;  // read at start: the sentinels' requirepass
  std::string key_prefix = "bq:";
  std::size_t max_body_bytes = 1u << 20;
  // Hostile and slow clients (see HttpServer::Options).
  std::size_t max_connections = 10000;
  std::size_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds idle_timeout{75000};
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{30000};
  std::size_t max_batch_jobs = 1000;
  // Jobs waiting for the group commit's next write to Redis; past it, 503 overloaded.
  std::size_t max_queued_submit_jobs = 16384;
  std::size_t max_in_flight_submit_jobs = 16384;
  // Job ids waiting for the group read's next pipeline; past it, a read is 503 overloaded.
  std::size_t max_queued_reads = 65536;
  // Threads for the routes that block on Redis (list, result, cancel, keys...), and the
  // calls that may wait for them; past it, such a route is 503 overloaded.
  unsigned blocking_threads = 2;
  std::size_t max_queued_calls = 4096;
  // New jobs are refused (storage_full) once Redis uses this share of its maxmemory.
  double storage_full_ratio = 0.9;
  // Each tenant's cap on the bytes its jobs hold in Redis, finished ones included, for
  // keys without a max_stored_bytes of their own; 0: none.
  std::uint64_t tenant_max_stored_bytes = 512u << 20;
  // How long a tenant's stored-bytes figure read from Redis is used (StoredBytesQuota).
  std::chrono::milliseconds stored_bytes_refresh{100};
  // Redis replicas a new job's record must reach before its 202 (WAIT), and how long
  // to wait for them (SubmitHandler::Options).
  int redis_replicas_ack = 0;
  std::chrono::milliseconds redis_replicas_wait{1000};
  std::chrono::milliseconds submit_timeout{2000};
  std::chrono::milliseconds max_wait{60000};
  // Server-sent event streams: the interval of their heartbeat comments, and how many
  // this gateway holds open at most.
  std::chrono::milliseconds event_heartbeat{15000};
  std::size_t max_event_streams = 10000;
  // How long after its last event stream the gateway still hears jobs queued and
  // started (ProgressDemand's linger).
  std::chrono::milliseconds progress_linger{30000};
  std::chrono::seconds result_ttl{std::chrono::hours(24)};
  // How long the record of a job created here that succeeded is kept after its end, for
  // the reads that follow (RecentEndings); 0: none is.
  std::chrono::milliseconds ended_hold{1000};
  // HTTP I/O threads; 0: DefaultIoThreads of the CPUs this process may use.
  unsigned threads = 0;
  std::chrono::milliseconds drain{5000};       // on SIGTERM, time for in-flight requests
  std::uint64_t fault_exit_after_persist = 0;  // reliability tests only
  std::string ready_file;
  std::string auth = "keys";                 // "keys", or "none" (loopback only)
  std::string admin_key_file;                // the bootstrap admin key; made on first start
  std::chrono::milliseconds key_cache{500};  // how long a key record is trusted
  std::string tls_cert;                      // PEM; with tls_key, the gateway serves HTTPS only
  std::string tls_key;
  // Webhooks: where callback_url may point beyond public addresses (hosts and CIDRs,
  // comma-separated), the sender threads (0: this gateway sends none), the tries of a
  // delivery before it is dead, the first backoff, and one try's time limit.
  std::string webhook_allow;
  unsigned webhook_senders = 2;
  std::uint32_t webhook_max_tries = 8;
  std::chrono::milliseconds webhook_backoff{1000};
  std::chrono::milliseconds webhook_timeout{10000};
};

}  // namespace batchq

namespace batchq {

// The gateway's default count of I/O threads for a host where it may use `usable_cpus`
// CPUs (0: unknown): one on two CPUs or fewer, where the gateway shares them with Redis,
// the broker and workers, and a second I/O thread mostly adds wake-ups
// (docs/BENCHMARKS.md, issue 15, twenty-fifth part); else two.
unsigned DefaultIoThreads(unsigned usable_cpus);
// The CPUs this process may use: those of its affinity mask (which a container's
// cpuset narrows), or fewer where its cgroup has a CPU quota (`docker run --cpus`, a
// Kubernetes CPU limit), the quota rounded up; 0 when neither can be read.
unsigned UsableCpus();
// The CPUs a cgroup v2 `cpu.max` allows ("<quota> <period>", in µs; "max <period>" for no
// quota): the quota rounded up to whole CPUs; 0 for none, or text that does not parse.
unsigned CpusOfCpuMax(std::string_view cpu_max);
// The same for cgroup v1's `cpu.cfs_quota_us` ("-1": none) and `cpu.cfs_period_us`.
unsigned CpusOfCfsQuota(std::string_view quota_us, std::string_view period_us);
// Where this process's CPU quotas are, from /proc/self/cgroup's text: the cgroup v2
// group (its "0::" line) and the cgroup v1 group of the `cpu` controller; empty when
// absent.
struct CpuCgroups {
  std::string v2;
  std::string v1;
};
CpuCgroups CpuCgroupsOf(std::string_view proc_self_cgroup);
// The fewest CPUs the group `path` ("/a/b"; "/" for the root, as a container's own
// namespace names its group) and its ancestors allow, each by `cpus_of_group` (0: no
// quota, or none known there); 0 when none has a quota.
unsigned CgroupCpuLimit(std::string_view path,
                        const std::function<unsigned(std::string_view group)>& cpus_of_group);

// Why this configuration must not start, as a sentence; empty when it may. Refuses
// --auth none on anything but a loopback address, and half a TLS setup.
std::string CheckAuthConfig(const GatewayConfig& config);

}  // namespace batchq
