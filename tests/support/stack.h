#pragma once
// A whole batchq deployment for integration tests: a real redis-server, broker,
// gateway and workers as child processes on free loopback ports, in a temp folder
// that holds their logs. Everything is stopped when the Stack goes away.

#include <memory>
#include <string>
#include <vector>

#include "common/http_client.h"
#include "tests/support/child_process.h"

namespace batchq::test {

struct StackOptions {
  int workers = 2;
  std::vector<std::string> broker_args;
  std::vector<std::string> gateway_args;
  std::vector<std::string> worker_args;
  bool redis_aof = false;  // appendonly with appendfsync always, kept across restarts
  // API keys on, as a deployment runs: the gateway gets --admin-key-file and Client()
  // sends that admin key. false: --auth none.
  bool auth = true;
};

class Stack {
 public:
  explicit Stack(StackOptions options = {});
  ~Stack();

  std::string url() const;
  std::string broker_frontend() const;
  std::string broker_backend() const;
  std::string redis_url() const;
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

  void StartRedis();
  void StartBroker();
  void StartGateway();
  // Starts one more worker; returns its index.
  std::size_t AddWorker(const std::vector<std::string>& extra_args = {});

  // Options used by the next Start*() / AddWorker(), e.g. to drop a fault flag.
  StackOptions& options() { return options_; }
  ChildProcess& redis() { return redis_; }
  ChildProcess& broker() { return broker_; }
  ChildProcess& gateway() { return gateway_; }
  ChildProcess& worker(std::size_t i) { return *workers_.at(i); }

  // Until /readyz says ready and the broker reports `workers` live workers.
  bool WaitReady(int workers);
  // Logs of every process, for failure messages.
  std::string Logs() const;

 private:
  StackOptions options_;
  std::string dir_;
  int redis_port_ = 0;
  int frontend_port_ = 0;
  int backend_port_ = 0;
  int gateway_port_ = 0;
  ChildProcess redis_;
  ChildProcess broker_;
  ChildProcess gateway_;
  std::vector<std::unique_ptr<ChildProcess>> workers_;
};

// Long-polls until the job ends, at most `polls` waits of 5 s; the job's JSON, or ""
// when it did not end (or the gateway did not answer).
std::string WaitTerminal(HttpClient& client, const std::string& id, int polls = 12);

// Polls (bounded) until the job's status is `status`; false if it never was.
bool WaitForStatus(HttpClient& client, const std::string& id, const std::string& status);

// Parses `body` and returns the string at a top-level key (or key.sub); "" if absent.
std::string JsonString(const std::string& body, const std::string& key,
                       const std::string& sub = "");
std::int64_t JsonInt(const std::string& body, const std::string& key, const std::string& sub = "");

// The port a broker or worker started with `--metrics-listen HOST:0` logged ("metrics on
// port N"); 0 if it has not logged one.
int LoggedMetricsPort(const std::string& log);
// GET /metrics at `base_url` (http://host:port); "" unless it answered 200.
std::string ScrapeMetrics(const std::string& base_url, const std::string& api_key = "");

}  // namespace batchq::test
