// batchq gateway: parses flags, wires the HTTP server to the job API, the broker
// link and the completion listener, and serves until SIGINT/SIGTERM.
#include <algorithm>
#include <atomic>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/command_line.h"
#include "common/http_server.h"
#include "common/io_threads.h"
#include "common/job_change.h"
#include "common/logging.h"
#include "common/open_file_limit.h"
#include "common/process_flags.h"
#include "gateway/admin_key_file.h"
#include "gateway/blocking_calls.h"
#include "gateway/broker_link.h"
#include "gateway/completion_listener.h"
#include "gateway/completion_waiters.h"
#include "gateway/gateway_config.h"
#include "gateway/group_commit.h"
#include "gateway/group_read.h"
#include "gateway/job_api.h"
#include "gateway/key_authenticator.h"
#include "gateway/per_thread_stores.h"
#include "gateway/progress_demand.h"
#include "gateway/recent_endings.h"
#include "gateway/storage_watch.h"
#include "gateway/stored_bytes_quota.h"
#include "gateway/webhook_sender.h"

namespace {

batchq::HttpServer::Options ServerOptions(const batchq::GatewayConfig& config,
                                          std::shared_ptr<boost::asio::ssl::context> tls) {
  batchq::HttpServer::Options options;
  options.address = config.listen_address;
  options.port = config.port;
  options.max_body_bytes = config.max_body_bytes;
  options.tls = std::move(tls);
  options.max_connections = config.max_connections;
  options.max_header_bytes = config.max_header_bytes;
  options.idle_timeout = config.idle_timeout;
  options.header_timeout = config.header_timeout;
  options.body_timeout = config.body_timeout;
  // Room beyond the client connections: Redis, the broker, log and key files.
  constexpr std::uint64_t kOtherFiles = 256;
  if (const auto files = batchq::RaiseOpenFileLimit();
      files > 0 && config.max_connections + kOtherFiles > files) {
    spdlog::warn(
        "--max-connections {} does not fit the open-file limit of {}: accept will fail (and "
        "back off) before the cap refuses; raise the limit (ulimit -n) or lower the cap",
        config.max_connections, files);
  }
  return options;
}

void AddWebhookFlags(batchq::CommandLine& command_line, batchq::GatewayConfig& config,
                     int& backoff_ms, int& timeout_ms) {
  command_line
      .Option("--webhook-allow", config.webhook_allow,
              "Where a job's callback_url may point besides public addresses: host names "
              "and networks, comma-separated (e.g. 127.0.0.1,10.0.0.0/8,hooks.internal). "
              "Private, loopback and link-local addresses are refused unless listed")
      .Env("BATCHQ_WEBHOOK_ALLOW");
  command_line
      .Option("--webhook-senders", config.webhook_senders,
              "Threads sending webhook deliveries from this gateway (0: none)")
      .Env("BATCHQ_WEBHOOK_SENDERS")
      .Check(batchq::FlagCheck::Range(0, 64))
      .ShowDefault();
  command_line
      .Option("--webhook-max-tries", config.webhook_max_tries,
              "Tries of a webhook delivery before it is dead (GET "
              "/v1/webhooks/deliveries?state=failed)")
      .Env("BATCHQ_WEBHOOK_MAX_TRIES")
      .Check(batchq::FlagCheck::Range(1, 100))
      .ShowDefault();
  command_line
      .Option("--webhook-backoff-ms", backoff_ms,
              "Wait before a webhook's second try, ms; doubled each try after, with jitter")
      .Env("BATCHQ_WEBHOOK_BACKOFF_MS")
      .Check(batchq::FlagCheck::Range(1, 3600000))
      .ShowDefault();
  command_line
      .Option("--webhook-timeout-ms", timeout_ms,
              "One webhook try, from resolving the host to the answer, ms")
      .Env("BATCHQ_WEBHOOK_TIMEOUT_MS")
      .Check(batchq::FlagCheck::Range(100, 120000))
      .ShowDefault();
}

}  // namespace

int main(int argc, char** argv) {
  batchq::GatewayConfig config;
  batchq::CommandLine command_line{
      "batchq gateway: the HTTP API. Takes jobs, makes them durable in Redis, hands "
      "them to the broker and answers polls.\nEvery flag can also be set through the "
      "environment variable shown in brackets."};
  batchq::ProcessFlags common;
  batchq::AddProcessFlags(command_line, common);
  int submit_timeout_ms = static_cast<int>(config.submit_timeout.count());
  int max_wait_ms = static_cast<int>(config.max_wait.count());
  int event_heartbeat_ms = static_cast<int>(config.event_heartbeat.count());
  int progress_linger_ms = static_cast<int>(config.progress_linger.count());
  int ended_hold_ms = static_cast<int>(config.ended_hold.count());
  command_line.Option("--listen", config.listen_address, "Address to listen on")
      .Env("BATCHQ_LISTEN")
      .ShowDefault();
  command_line.Option("--port", config.port, "HTTP port (0: any free port)")
      .Env("BATCHQ_PORT")
      .ShowDefault();
  command_line
      .Option("--broker", config.broker,
              "Broker frontend endpoint, or several separated by commas (brokers sharing "
              "one Redis: the gateway finds and follows the active one)")
      .Env("BATCHQ_BROKER")
      .ShowDefault();
  command_line
      .Option("--max-body-bytes", config.max_body_bytes, "Largest request body; larger is 413")
      .Env("BATCHQ_MAX_BODY_BYTES")
      .Check(batchq::FlagCheck::Positive())
      .ShowDefault();
  command_line
      .Option("--max-connections", config.max_connections,
              "Most open client connections; past it a new one gets 503 overloaded")
      .Env("BATCHQ_MAX_CONNECTIONS")
      .Check(batchq::FlagCheck::Positive())
      .ShowDefault();
  command_line
      .Option("--max-header-bytes", config.max_header_bytes,
              "Largest request line and headers; larger is 400")
      .Env("BATCHQ_MAX_HEADER_BYTES")
      .Check(batchq::FlagCheck::Range(1024, 1 << 20))
      .ShowDefault();
  int idle_timeout_ms = static_cast<int>(config.idle_timeout.count());
  command_line
      .Option("--idle-timeout-ms", idle_timeout_ms,
              "A kept-alive connection with no new request is closed after this, ms")
      .Env("BATCHQ_IDLE_TIMEOUT_MS")
      .Check(batchq::FlagCheck::Positive())
      .ShowDefault();
  int header_timeout_ms = static_cast<int>(config.header_timeout.count());
  command_line
      .Option("--header-timeout-ms", header_timeout_ms,
              "From a request's first byte to the end of its headers (and the TLS "
              "handshake), ms; slower clients are cut off")
      .Env("BATCHQ_HEADER_TIMEOUT_MS")
      .Check(batchq::FlagCheck::Positive())
      .ShowDefault();
  int body_timeout_ms = static_cast<int>(config.body_timeout.count());
  command_line
      .Option("--body-timeout-ms", body_timeout_ms,
              "From the end of a request's headers to the end of its body, ms")
      .Env("BATCHQ_BODY_TIMEOUT_MS")
      .Check(batchq::FlagCheck::Positive())
      .ShowDefault();
  command_line
      .Option("--storage-full-ratio", config.storage_full_ratio,
              "New jobs get 503 storage_full once Redis uses this share of its maxmemory")
      .Env("BATCHQ_STORAGE_FULL_RATIO")
      .Check(batchq::FlagCheck::Range(0.1, 1.0))
      .ShowDefault();
  command_line
      .Option("--redis-replicas-ack", config.redis_replicas_ack,
              "Answer 202 only once a new job's record reached this many Redis replicas "
              "(WAIT); else withdraw it and answer 503 not_replicated. 0: once the master "
              "has it, which a Redis failover can lose (docs/RELIABILITY.md)")
      .Env("BATCHQ_REDIS_REPLICAS_ACK")
      .Check(batchq::FlagCheck::Range(0, 64))
      .ShowDefault();
  int redis_replicas_wait_ms = static_cast<int>(config.redis_replicas_wait.count());
  command_line
      .Option("--redis-replicas-wait-ms", redis_replicas_wait_ms,
              "How long a submit waits for --redis-replicas-ack replicas, ms")
      .Env("BATCHQ_REDIS_REPLICAS_WAIT_MS")
      .Check(batchq::FlagCheck::Range(1, 60000))
      .ShowDefault();
  command_line
      .Option("--tenant-max-stored-bytes", config.tenant_max_stored_bytes,
              "Each tenant's cap on bytes its jobs hold in Redis, finished ones included, "
              "for keys without max_stored_bytes; past it, 429 quota_exceeded (0: none)")
      .Env("BATCHQ_TENANT_MAX_STORED_BYTES")
      .ShowDefault();
  int stored_bytes_refresh_ms = static_cast<int>(config.stored_bytes_refresh.count());
  command_line
      .Option("--stored-bytes-refresh-ms", stored_bytes_refresh_ms,
              "How often a tenant's stored bytes are read again from Redis, ms; between "
              "reads the gateway counts what it admits (0: on every submit)")
      .Env("BATCHQ_STORED_BYTES_REFRESH_MS")
      .Check(batchq::FlagCheck::NonNegative())
      .ShowDefault();
  command_line
      .Option("--max-batch-jobs", config.max_batch_jobs, "Most jobs in one POST /v1/jobs:batch")
      .Env("BATCHQ_MAX_BATCH_JOBS")
      .Check(batchq::FlagCheck::Positive())
      .ShowDefault();
  command_line
      .Option("--max-queued-submit-jobs", config.max_queued_submit_jobs,
              "Most new jobs waiting to be written to Redis; past it a submit is answered "
              "503 overloaded with Retry-After at once instead of waiting")
      .Env("BATCHQ_MAX_QUEUED_SUBMIT_JOBS")
      .Check(batchq::FlagCheck::Positive())
      .ShowDefault();
  command_line
      .Option("--max-in-flight-submit-jobs", config.max_in_flight_submit_jobs,
              "Most jobs of submits awaiting Redis, its replicas or the broker's verdict; "
              "past it a submit is answered 503 overloaded with Retry-After at once, so "
              "answers stay fast under more load than the gateway can take (a submit alone "
              "is never refused by it; 0: no bound)")
      .Env("BATCHQ_MAX_IN_FLIGHT_SUBMIT_JOBS")
      .Check(batchq::FlagCheck::NonNegative())
      .ShowDefault();
  command_line
      .Option("--max-queued-reads", config.max_queued_reads,
              "Most job ids waiting to be read from Redis for long-polls and waiting "
              "submits; past it such a read is answered 503 overloaded at once")
      .Env("BATCHQ_MAX_QUEUED_READS")
      .Check(batchq::FlagCheck::Positive())
      .ShowDefault();
  command_line
      .Option("--blocking-threads", config.blocking_threads,
              "Threads that run what blocks on Redis without a group form (listing jobs, "
              "results, cancels, :retry, keys, dead deliveries, readiness, looking up a key "
              "not in the cache, a tenant's stored bytes), so I/O threads never wait on it")
      .Env("BATCHQ_BLOCKING_THREADS")
      .Check(batchq::FlagCheck::Positive())
      .ShowDefault();
  command_line
      .Option("--max-queued-calls", config.max_queued_calls,
              "Most such calls waiting for a blocking thread; past it one is answered "
              "503 overloaded at once")
      .Env("BATCHQ_MAX_QUEUED_CALLS")
      .Check(batchq::FlagCheck::Positive())
      .ShowDefault();
  command_line
      .Option("--submit-timeout-ms", submit_timeout_ms,
              "How long a submit waits for the broker's verdict, ms")
      .Env("BATCHQ_SUBMIT_TIMEOUT_MS")
      .Check(batchq::FlagCheck::Positive())
      .ShowDefault();
  command_line.Option("--max-wait-ms", max_wait_ms, "Upper bound for ?wait_ms long-polls, ms")
      .Env("BATCHQ_MAX_WAIT_MS")
      .Check(batchq::FlagCheck::NonNegative())
      .ShowDefault();
  command_line
      .Option("--event-heartbeat-ms", event_heartbeat_ms,
              "Interval of the heartbeat comments on server-sent event streams, ms (keeps "
              "proxies from closing quiet streams)")
      .Env("BATCHQ_EVENT_HEARTBEAT_MS")
      .Check(batchq::FlagCheck::Positive())
      .ShowDefault();
  command_line
      .Option("--max-event-streams", config.max_event_streams,
              "Server-sent event streams this gateway holds open at most; past it, 503")
      .Env("BATCHQ_MAX_EVENT_STREAMS")
      .Check(batchq::FlagCheck::Positive())
      .ShowDefault();
  command_line
      .Option("--progress-linger-ms", progress_linger_ms,
              "How long after its last event stream closed the gateway still hears jobs "
              "queued and started, ms (a client opening one stream per job then keeps the "
              "subscription); at least 1000, which also covers a new stream's wait for it")
      .Env("BATCHQ_PROGRESS_LINGER_MS")
      .Check(batchq::FlagCheck::Range(1000, std::numeric_limits<int>::max()))
      .ShowDefault();
  command_line
      .Option("--ended-hold-ms", ended_hold_ms,
              "How long the record of a job submitted here that succeeded while nobody waited "
              "for it is kept in memory, ms, so that the poll that follows is answered "
              "without Redis (it no longer changes); 0 turns it off. At most half of "
              "--result-ttl-s")
      .Env("BATCHQ_ENDED_HOLD_MS")
      .Check(batchq::FlagCheck::NonNegative())
      .ShowDefault();
  command_line
      .Option("--threads", config.threads,
              "HTTP I/O threads, each with an event loop of its own; a connection stays on "
              "one. 0: one where this process may use 2 CPUs or fewer (its CPU mask, or its "
              "cgroup's CPU quota rounded up), else 2")
      .Env("BATCHQ_GATEWAY_THREADS")
      .Check(batchq::FlagCheck::NonNegative())
      .ShowDefault();
  int drain_ms = static_cast<int>(config.drain.count());
  command_line
      .Option("--drain-ms", drain_ms, "On SIGTERM, how long in-flight requests may finish, ms")
      .Env("BATCHQ_DRAIN_MS")
      .Check(batchq::FlagCheck::NonNegative())
      .ShowDefault();
  command_line
      .Option("--fault-exit-after-persist", config.fault_exit_after_persist,
              "Reliability tests only: exit after the Nth submit is durable, before forwarding")
      .Env("BATCHQ_FAULT_EXIT_AFTER_PERSIST");
  command_line
      .Option("--ready-file", config.ready_file,
              "Write {\"port\":N} here once listening (for tests and scripts)")
      .Env("BATCHQ_READY_FILE");
  command_line
      .Option("--auth", config.auth,
              "keys: every /v1 route needs an API key (Authorization: Bearer). none: no "
              "keys, one tenant; refused unless --listen is a loopback address")
      .Env("BATCHQ_AUTH")
      .Check(batchq::FlagCheck::OneOf({"keys", "none"}))
      .ShowDefault();
  command_line
      .Option("--admin-key-file", config.admin_key_file,
              "File holding the bootstrap admin key (tenant 'admin', every scope); "
              "created with a new key, mode 0600, when missing")
      .Env("BATCHQ_ADMIN_KEY_FILE");
  int key_cache_ms = static_cast<int>(config.key_cache.count());
  command_line
      .Option("--key-cache-ms", key_cache_ms,
              "How long a key's record is used before Redis is asked again (a revoked key "
              "stops working within this), ms")
      .Env("BATCHQ_KEY_CACHE_MS")
      .Check(batchq::FlagCheck::Range(0, 1000))
      .ShowDefault();
  command_line
      .Option("--tls-cert", config.tls_cert,
              "PEM certificate chain: serve HTTPS instead of HTTP (with --tls-key)")
      .Env("BATCHQ_TLS_CERT")
      .Check(batchq::FlagCheck::ExistingFile());
  command_line.Option("--tls-key", config.tls_key, "PEM private key of --tls-cert")
      .Env("BATCHQ_TLS_KEY")
      .Check(batchq::FlagCheck::ExistingFile());
  int webhook_backoff_ms = static_cast<int>(config.webhook_backoff.count());
  int webhook_timeout_ms = static_cast<int>(config.webhook_timeout.count());
  AddWebhookFlags(command_line, config, webhook_backoff_ms, webhook_timeout_ms);
  batchq::CurveClientFlags curve_flags;
  batchq::AddCurveClientFlags(command_line, curve_flags);
  if (const auto exit_code = command_line.Parse(argc, argv)) return *exit_code;
  config.webhook_backoff = std::chrono::milliseconds(webhook_backoff_ms);
  config.webhook_timeout = std::chrono::milliseconds(webhook_timeout_ms);
  config.key_cache = std::chrono::milliseconds(key_cache_ms);
  config.submit_timeout = std::chrono::milliseconds(submit_timeout_ms);
  config.max_wait = std::chrono::milliseconds(max_wait_ms);
  config.event_heartbeat = std::chrono::milliseconds(event_heartbeat_ms);
  config.progress_linger = std::chrono::milliseconds(progress_linger_ms);
  config.ended_hold = std::chrono::milliseconds(ended_hold_ms);
  config.drain = std::chrono::milliseconds(drain_ms);
  config.idle_timeout = std::chrono::milliseconds(idle_timeout_ms);
  config.header_timeout = std::chrono::milliseconds(header_timeout_ms);
  config.body_timeout = std::chrono::milliseconds(body_timeout_ms);
  config.redis_replicas_wait = std::chrono::milliseconds(redis_replicas_wait_ms);
  config.stored_bytes_refresh = std::chrono::milliseconds(stored_bytes_refresh_ms);
  config.redis_url = common.redis_url;
  config.redis_password_file = common.redis_password_file;
  config.redis_sentinel_password_file = common.redis_sentinel_password_file;
  config.key_prefix = common.key_prefix;
  config.result_ttl = common.result_ttl();

  batchq::SetUpLogging("gateway", common.log_level, common.log_json);
  std::signal(SIGPIPE, SIG_IGN);
  if (auto refused = batchq::CheckAuthConfig(config); !refused.empty()) {
    spdlog::critical("gateway cannot start: {}", refused);
    return 2;
  }
  auto webhook_allow = batchq::DestinationAllowList::Parse(config.webhook_allow);
  if (!webhook_allow) {
    spdlog::critical("gateway cannot start: --webhook-allow: {}", webhook_allow.error().message);
    return 2;
  }
  try {
    auto endpoint = batchq::ResolveRedisEndpoint(config.redis_url, config.redis_password_file,
                                                 config.redis_sentinel_password_file);
    if (!endpoint) throw std::runtime_error(endpoint.error().message);
    const batchq::RedisConnection::Options redis{*endpoint};
    if (auto login = batchq::RedisConnection(redis).CheckLogin(); !login) {
      throw std::runtime_error(login.error().message);
    }

    // One io_context per I/O thread: the threads share no lock on the request path.
    const unsigned usable_cpus = batchq::UsableCpus();
    batchq::IoThreads io(config.threads > 0 ? config.threads
                                            : batchq::DefaultIoThreads(usable_cpus));
    zmq::context_t zmq_context(1);
    auto curve =
        batchq::LoadCurveClientKeys(curve_flags.secret_file, curve_flags.broker_public_file,
                                    curve_flags.no_curve, config.broker);
    if (!curve) throw std::runtime_error(curve.error().message);
    batchq::BrokerLink::Options link_options;
    link_options.endpoint = config.broker;
    link_options.curve = std::move(*curve);
    batchq::BrokerLink broker(zmq_context, std::move(link_options));
    batchq::CompletionWaiters waiters;
    prometheus::Registry metrics;
    batchq::PerThreadStores store(redis, {config.key_prefix, config.result_ttl});
    // The hub reads records on the listener's thread, which PerThreadStores gives its own
    // connection.
    batchq::JobEventHub event_hub(
        [&store](std::span<const std::string> ids) { return store.GetMany(ids); },
        config.event_heartbeat);
    // The listener hears jobs queued and started only while event streams want them, and
    // for a linger after the last: a client that opens one stream per job it submits
    // keeps the subscription instead of making it again for each.
    std::atomic<batchq::CompletionListener*> listener_to_wake{nullptr};
    batchq::ProgressDemand progress_demand(config.progress_linger, [&listener_to_wake] {
      if (auto* listener = listener_to_wake.load()) listener->Wake();
    });
    // Half the TTL at most: a record kept here must not outlive the one in Redis.
    batchq::RecentEndings endings(
        {.hold = std::min(config.ended_hold, std::chrono::milliseconds(config.result_ttl) / 2)});
    batchq::CompletionListener listener(
        redis, batchq::DoneChannel(config.key_prefix), waiters, &event_hub,
        {batchq::ProgressChannel(config.key_prefix), &progress_demand}, &endings);
    listener_to_wake = &listener;
    std::unique_ptr<batchq::KeyAuthenticator> authenticator;
    if (config.auth == "keys") {
      std::vector<batchq::KeyRecord> static_keys;
      if (!config.admin_key_file.empty()) {
        static_keys.push_back(batchq::LoadOrCreateAdminKey(config.admin_key_file));
        spdlog::info("bootstrap admin key {} from {}", static_keys.back().id,
                     config.admin_key_file);
      }
      authenticator = std::make_unique<batchq::KeyAuthenticator>(
          batchq::KeyAuthenticator::Options{config.key_cache},
          [&store](std::string_view id) { return store.GetKey(id); }, std::move(static_keys));
    } else {
      spdlog::warn("--auth none: no API keys; every caller may do anything (loopback only)");
    }
    batchq::JobApi::Options api_options;
    api_options.submit.limits.max_batch_jobs = config.max_batch_jobs;
    api_options.submit.submit_timeout = config.submit_timeout;
    api_options.submit.fault_exit_after_persist = config.fault_exit_after_persist;
    api_options.submit.replicas_ack = config.redis_replicas_ack;
    api_options.submit.replicas_wait = config.redis_replicas_wait;
    api_options.submit.max_in_flight_jobs = config.max_in_flight_submit_jobs;
    api_options.reads.max_wait = config.max_wait;
    // Long-polls and waiting submits read Redis through the group read, off the I/O threads.
    batchq::GroupRead group_read({.max_queued_reads = config.max_queued_reads}, store);
    api_options.reads.group_read = &group_read;
    auto& first_reads = prometheus::BuildCounter()
                            .Name("batchq_gateway_long_poll_first_reads_total")
                            .Help(
                                "Long-polls that waited: read: read their job first; skipped: "
                                "did not need to, since the job was created here and had "
                                "not ended")
                            .Register(metrics);
    api_options.reads.first_reads_made = &first_reads.Add({{"outcome", "read"}});
    api_options.reads.first_reads_skipped = &first_reads.Add({{"outcome", "skipped"}});
    api_options.reads.endings = &endings;
    api_options.reads.reads_from_endings =
        &prometheus::BuildCounter()
             .Name("batchq_gateway_reads_from_endings_total")
             .Help(
                 "GETs and long-polls of a job answered from the record its completion notice "
                 "carried, kept since it succeeded (--ended-hold-ms), without reading Redis")
             .Register(metrics)
             .Add({});
    batchq::BlockingCalls blocking(
        {.threads = config.blocking_threads, .max_queued = config.max_queued_calls});
    api_options.blocking = &blocking;
    api_options.submit.blocking = &blocking;
    api_options.events.blocking = &blocking;
    api_options.events.max_streams = config.max_event_streams;
    api_options.events.progress = &progress_demand;
    api_options.submit.webhook_allow = *webhook_allow;
    batchq::StorageWatch storage({redis, config.storage_full_ratio});
    api_options.submit.storage_full = [&storage] { return storage.FullReason(); };
    batchq::StoredBytesQuota stored_quota(
        {config.tenant_max_stored_bytes, config.stored_bytes_refresh});
    api_options.submit.stored_quota = &stored_quota;
    // Submits reach Redis through the group commit, off the I/O threads; a group's
    // durable submits go on to the broker together.
    batchq::GroupCommit group_commit({.max_queued_jobs = config.max_queued_submit_jobs,
                                      .replicas_ack = config.redis_replicas_ack,
                                      .replicas_wait = config.redis_replicas_wait,
                                      .before_dones = [&broker] { broker.BeginBurst(); },
                                      .after_dones = [&broker] { broker.EndBurst(); }},
                                     store);
    batchq::JobApi api(io, api_options, store, group_commit, store, store, broker, waiters,
                       event_hub, metrics, authenticator.get());
    std::unique_ptr<batchq::WebhookSender> webhooks;
    if (config.webhook_senders > 0) {
      webhooks = std::make_unique<batchq::WebhookSender>(
          batchq::WebhookSender::Options{.allow = *webhook_allow,
                                         .policy = {.max_tries = config.webhook_max_tries,
                                                    .first_backoff = config.webhook_backoff},
                                         .threads = config.webhook_senders,
                                         .timeout = config.webhook_timeout,
                                         .key_prefix = config.key_prefix,
                                         .keep = config.result_ttl},
          redis, store, store, metrics);
    }
    std::shared_ptr<boost::asio::ssl::context> tls;
    if (!config.tls_cert.empty())
      tls = batchq::MakeServerTlsContext(config.tls_cert, config.tls_key);
    batchq::ConnectionMetrics connection_metrics(metrics);
    batchq::HttpServer server(
        io, ServerOptions(config, tls),
        [&api](batchq::HttpRequestIn&& request, batchq::Respond respond) {
          api.Handle(std::move(request), std::move(respond));
        },
        &connection_metrics);
    spdlog::info(
        "gateway listening on {}://{}:{}, broker {}, auth {}, {} I/O thread{} ({} CPU{} usable)",
        tls ? "https" : "http", config.listen_address, server.port(), config.broker, config.auth,
        io.size(), io.size() == 1 ? "" : "s", usable_cpus, usable_cpus == 1 ? "" : "s");
    if (!config.ready_file.empty()) {
      const std::string tmp = config.ready_file + ".tmp";
      std::ofstream(tmp) << "{\"port\":" << server.port() << "}\n";
      std::rename(tmp.c_str(), config.ready_file.c_str());
    }

    boost::asio::signal_set signals(io.First(), SIGINT, SIGTERM);
    // SIGTERM/SIGINT: stop accepting, answer what was already read (up to --drain-ms),
    // then stop. Every job already answered 202 is durable in Redis either way.
    boost::asio::steady_timer drain(io.First());
    const auto drain_until = std::make_shared<std::chrono::steady_clock::time_point>();
    std::function<void()> check_drained = [&] {
      if (server.active() == 0 || std::chrono::steady_clock::now() >= *drain_until) {
        spdlog::info("gateway stopped ({} requests unanswered)", server.active());
        io.Stop();
        return;
      }
      drain.expires_after(std::chrono::milliseconds(20));
      drain.async_wait([&](const boost::system::error_code&) { check_drained(); });
    };
    signals.async_wait([&](const boost::system::error_code&, int) {
      spdlog::info("gateway draining {} requests", server.active());
      // A delivery not yet taken waits in Redis for the other gateways, or the next start.
      if (webhooks) webhooks->RequestStop();
      server.Stop();
      *drain_until = std::chrono::steady_clock::now() + config.drain;
      check_drained();
    });
    io.Run();
    // Submits still being written finish now, while the handler they call back exists.
    group_commit.Stop();
    group_read.Stop();
    blocking.Stop();
    if (webhooks) webhooks->Stop();
  } catch (const std::exception& e) {
    spdlog::critical("gateway cannot start: {}", e.what());
    return 1;
  }
  return 0;
}
