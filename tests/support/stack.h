#pragma once
// A whole batchq deployment for integration tests: a real redis-server, broker,
// gateway and workers as child processes on free loopback ports, in a temp folder
// that holds their logs. Everything is stopped when the Stack goes away.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/http_client.h"
#include "common/redis_connection.h"
#include "tests/support/child_process.h"
#include "tests/support/netns_lan.h"

namespace batchq::test {

struct StackOptions {
  int workers = 2;
  // Brokers on one Redis (one active, the others standing by); the gateway and the
  // workers are given all their endpoints.
  int brokers = 1;
  std::vector<std::string> broker_args;
  std::vector<std::string> gateway_args;
  std::vector<std::string> worker_args;
  bool redis_aof = false;  // appendonly with appendfsync always, kept across restarts
  // API keys on, as a deployment runs: the gateway gets --admin-key-file and Client()
  // sends that admin key. false: --auth none.
  bool auth = true;
  // CURVE between the processes, as a deployment runs: the broker checks the gateway's
  // and the workers' keys against its allow-lists. false: --no-curve (loopback).
  bool curve = true;
  // Redis ACL users per role (scripts/make_redis_users.sh), as a deployment runs: each
  // process logs in as its role with a password file. false: no passwords.
  bool redis_acl = true;
  // Redis replication with Sentinel: this many replicas of the first Redis and this many
  // sentinels watching them (master name "batchq"); with sentinels, every process is
  // given a redis-sentinel:// URL and finds the master through them.
  int redis_replicas = 0;
  int sentinels = 0;
  // Where the processes run (NetnsLan hosts); by default all in this process's network
  // namespace on loopback.
  Host data_host;     // the Redis nodes, the sentinels and the brokers
  Host gateway_host;  // the gateway, and any started with GatewayArgv()
  Host worker_host;   // read by each AddWorker()
  // The gateway and worker binaries (benchmarks compare an older build's against this
  // one's).
  std::string gateway_bin = BATCHQ_GATEWAY_BIN;
  std::string worker_bin = BATCHQ_WORKER_BIN;
};

class Stack {
 public:
  explicit Stack(StackOptions options = {});
  ~Stack();

  std::string url() const;
  // Broker `i`'s endpoints.
  std::string broker_frontend(std::size_t i = 0) const;
  std::string broker_backend(std::size_t i = 0) const;
  // Every broker's, comma-separated, as --broker takes them.
  std::string broker_frontends() const;
  std::string broker_backends() const;
  // The admin's URL (Redis's default user, password included: tests only), for tests
  // that look into Redis: with sentinels, of the master they name now.
  std::string redis_url() const;
  // The admin's endpoint, through the sentinels when there are some.
  RedisEndpoint redis_admin_endpoint() const;
  // A role's URL (no password) and its password file; with redis_acl off, the plain URL.
  std::string redis_url(const std::string& role) const;
  std::string redis_password_file(const std::string& role) const;
  // A client sending the bootstrap admin key (every scope, tenant "admin").
  std::unique_ptr<HttpClient> Client() const;
  // A client sending `api_key` (empty: none).
  std::unique_ptr<HttpClient> Client(const std::string& api_key) const;
  // The bootstrap admin key and its file (written by the gateway on its first start).
  std::string admin_key() const;
  std::string admin_key_file() const { return dir_ + "/admin.key"; }
  // A new key made through POST /v1/keys with the admin key; throws when refused.
  std::string CreateKey(const std::string& tenant, const std::string& scopes,
                        const std::string& extra_json = "") const;
  const std::string& dir() const { return dir_; }
  // CURVE keys (when options().curve): the broker's pair, the gateway's and the
  // workers' pairs, and the allow-list directories holding their public keys.
  std::string keys_dir() const { return dir_ + "/keys"; }
  std::string broker_public_key_file() const { return keys_dir() + "/broker.pub"; }
  std::string gateway_keys_dir() const { return keys_dir() + "/gateways"; }
  std::string worker_keys_dir() const { return keys_dir() + "/workers"; }
  std::string gateway_secret_file() const { return keys_dir() + "/gateway.key"; }
  std::string worker_secret_file() const { return keys_dir() + "/worker.key"; }

  void MakeCurveKeys();
  // The flags a gateway or worker needs to reach the broker, with this secret key.
  std::vector<std::string> CurveClientArgs(const std::string& secret_file) const;
  // A gateway's command line on this stack (role, keys, options().gateway_args) that
  // writes its port to `ready_file`, listening on the gateway host's address (run it
  // there: InHost(options().gateway_host, ...)).
  std::vector<std::string> GatewayArgv(const std::string& ready_file) const;
  // --redis-url and --redis-password-file for a process of this role.
  std::vector<std::string> RedisArgs(const std::string& role) const;
  // (Re)starts Redis node `i`: 0 is the first master, 1.. its replicas.
  void StartRedis(std::size_t i = 0);
  // (Re)starts broker `i` (logs to broker.log, broker1.log, ...).
  void StartBroker(std::size_t i = 0);
  void StartGateway();
  // One more gateway on this stack, on the gateway host, logging to `name`.log; the
  // caller owns it. Throws if it did not start.
  struct ExtraGateway {
    ChildProcess process;
    std::string url;
  };
  ExtraGateway StartExtraGateway(const std::string& name) const;
  // Starts one more worker (with worker_secret_file() unless another key is given, and
  // every broker unless `extra_args` has a --broker of its own); returns its index.
  std::size_t AddWorker(const std::vector<std::string>& extra_args = {},
                        const std::string& curve_secret_file = "");

  // Options used by the next Start*() / AddWorker(), e.g. to drop a fault flag.
  StackOptions& options() { return options_; }
  ChildProcess& redis() { return redis_; }
  ChildProcess& redis_node(std::size_t i) { return i == 0 ? redis_ : replicas_.at(i - 1); }
  int RedisNodePort(std::size_t i) const { return i == 0 ? redis_port_ : replica_ports_.at(i - 1); }
  // The admin's URL of node `i`, whatever its role now.
  std::string RedisNodeUrl(std::size_t i) const;
  // The role node `i` says it has ("master", "slave"), or "" if it did not answer.
  std::string RedisNodeRole(std::size_t i) const;
  // Sentinel `i`, in the order every process's URL lists them.
  ChildProcess& sentinel(std::size_t i) { return sentinels_.at(i); }
  // redis-cli `command` against the first sentinel that answers; its output, or "".
  std::string AskSentinel(const std::vector<std::string>& command) const;
  // The node the sentinels name master now; -1 if none answered.
  int RedisMasterNode() const;
  // Until the sentinels agree on `node` as master and it has `replicas` replicas in sync
  // (bounded); false if they did not.
  bool WaitRedisMaster(int node, int replicas);
  ChildProcess& broker(std::size_t i = 0) { return brokers_.at(i); }
  ChildProcess& gateway() { return gateway_; }
  ChildProcess& worker(std::size_t i) { return *workers_.at(i); }

  // The broker lease as Redis holds it: its epoch (0: none) and its holder's pid.
  struct Lease {
    std::uint64_t epoch = 0;
    int pid = 0;
  };
  Lease ReadLease() const;
  // The index of the broker holding a lease newer than `after_epoch`, once one does
  // (bounded wait); -1 if none did.
  int ActiveBroker(std::uint64_t after_epoch = 0);

  // Until /readyz says ready and the broker reports `workers` live workers.
  bool WaitReady(int workers);
  // Logs of every process, for failure messages.
  std::string Logs() const;

 private:
  StackOptions options_;
  std::string dir_;
  int redis_port_ = 0;
  std::vector<int> replica_ports_;
  std::vector<int> sentinel_ports_;
  std::vector<int> frontend_ports_;  // one per broker
  std::vector<int> backend_ports_;
  int gateway_port_ = 0;
  ChildProcess redis_;
  std::vector<ChildProcess> replicas_;
  std::vector<ChildProcess> sentinels_;
  std::string SentinelUrlHosts() const;
  std::string AdminUrl(int port) const;
  // The master port a sentinel names now; 0 if none answered.
  int SentinelMasterPort() const;
  void StartSentinel(std::size_t i);
  void MakeRedisUsers();
  std::vector<ChildProcess> brokers_;
  ChildProcess gateway_;
  std::vector<std::unique_ptr<ChildProcess>> workers_;
};

// Long-polls until the job ends, at most `polls` waits of 5 s; the job's JSON, or ""
// when it did not end (or the gateway did not answer).
std::string WaitTerminal(HttpClient& client, const std::string& id, int polls = 12);

// Submits an `upper` job of `input` (letters and spaces) and expects it accepted and
// then succeeded with the input in capitals: the proof that a stack still serves.
void ExpectUpperJobRuns(HttpClient& client, const std::string& input);

// Polls (bounded) until the job's status is `status`; false if it never was.
bool WaitForStatus(HttpClient& client, const std::string& id, const std::string& status);

// Parses `body` and returns the string at a top-level key (or key.sub); "" if absent.
std::string JsonString(const std::string& body, const std::string& key,
                       const std::string& sub = "");
std::int64_t JsonInt(const std::string& body, const std::string& key, const std::string& sub = "");
// The job ids of a :batch answer, in order (an item refused has none).
std::vector<std::string> BatchIds(const std::string& body);

// The port a broker or worker started with `--metrics-listen HOST:0` logged ("metrics on
// port N"); 0 if it has not logged one.
int LoggedMetricsPort(const std::string& log);
// A connection to the stack's Redis as `role` (gateway, broker, worker), logged in with
// that role's password file as the process would be; throws when it cannot resolve.
RedisConnection RoleRedis(const Stack& stack, const std::string& role);
// How many clients Redis counts on `channel` (PUBSUB NUMSUB); -1 when it cannot say.
long long Subscribers(RedisConnection& redis, std::string_view channel);
// GET /metrics at `base_url` (http://host:port); "" unless it answered 200.
std::string ScrapeMetrics(const std::string& base_url, const std::string& api_key = "");
// The value of one series of /metrics text, named with its labels as written
// (`name{label="value"}`); -1 when absent.
double MetricValue(const std::string& metrics, const std::string& series);

}  // namespace batchq::test
