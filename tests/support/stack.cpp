#include "tests/support/stack.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <simdjson.h>

namespace batchq::test {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// How often `needle` occurs in `text` (redis-cli prints one reply element per line).
std::size_t CountLines(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++count;
  return count;
}

std::string Secret(const std::string& file);
std::string AskRedis(const std::string& host, int port, const std::string& password,
                     const std::vector<std::string>& command);

}  // namespace

Stack::Stack(StackOptions options) : options_(std::move(options)) {
  char templ[] = "/tmp/batchq-test-XXXXXX";
  if (mkdtemp(templ) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = templ;
  redis_port_ = FreePort();
  for (int i = 0; i < options_.redis_replicas; ++i) replica_ports_.push_back(FreePort());
  for (int i = 0; i < options_.sentinels; ++i) sentinel_ports_.push_back(FreePort());
  replicas_.resize(replica_ports_.size());
  sentinels_.resize(sentinel_ports_.size());
  for (int i = 0; i < options_.brokers; ++i) {
    frontend_ports_.push_back(FreePort());
    backend_ports_.push_back(FreePort());
  }
  brokers_.resize(frontend_ports_.size());
  if (options_.curve) MakeCurveKeys();
  for (std::size_t i = 0; i <= replicas_.size(); ++i) StartRedis(i);
  const std::string admin = options_.redis_acl ? Secret(redis_password_file("admin")) : "";
  if (!replicas_.empty() && !WaitFor([&] {
        return CountLines(AskRedis(options_.data_host.address, redis_port_, admin,
                                   {"INFO", "replication"}),
                          "state=online") == replicas_.size();
      })) {
    throw std::runtime_error("the Redis replicas never came online:\n" + Logs());
  }
  for (std::size_t i = 0; i < sentinels_.size(); ++i) StartSentinel(i);
  if (!sentinels_.empty() && !WaitRedisMaster(0, options_.redis_replicas)) {
    throw std::runtime_error("the sentinels never agreed on a master:\n" + Logs());
  }
  for (std::size_t i = 0; i < brokers_.size(); ++i) StartBroker(i);
  StartGateway();
  for (int i = 0; i < options_.workers; ++i) AddWorker();
}

Stack::~Stack() {
  // A clean shutdown exits 0; anything else (a crash, a sanitizer report) fails the test.
  auto stop = [](ChildProcess& process, const std::string& name) {
    const int status = process.Stop();
    if (status != 0) {
      ADD_FAILURE() << name << " did not exit cleanly (wait status " << status << "):\n"
                    << process.ReadLog();
    }
  };
  for (std::size_t i = 0; i < workers_.size(); ++i) stop(*workers_[i], fmt::format("worker{}", i));
  stop(gateway_, "gateway");
  for (std::size_t i = 0; i < brokers_.size(); ++i) stop(brokers_[i], fmt::format("broker{}", i));
  for (std::size_t i = 0; i < sentinels_.size(); ++i) {
    stop(sentinels_[i], fmt::format("sentinel{}", i));
  }
  for (std::size_t i = 0; i < replicas_.size(); ++i) {
    if (replicas_[i].running()) stop(replicas_[i], fmt::format("redis replica {}", i + 1));
  }
  if (redis_.running() || sentinels_.empty()) stop(redis_, "redis-server");
  if (std::getenv("BATCHQ_KEEP_TEST_LOGS") == nullptr) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string Stack::url() const {
  return fmt::format("http://{}:{}", options_.gateway_host.address, gateway_port_);
}
std::string Stack::broker_frontend(std::size_t i) const {
  return fmt::format("tcp://{}:{}", options_.data_host.address, frontend_ports_.at(i));
}
std::string Stack::broker_backend(std::size_t i) const {
  return fmt::format("tcp://{}:{}", options_.data_host.address, backend_ports_.at(i));
}

namespace {

std::string EndpointList(const std::string& host, const std::vector<int>& ports) {
  std::vector<std::string> endpoints;
  for (const int port : ports) endpoints.push_back(fmt::format("tcp://{}:{}", host, port));
  return fmt::format("{}", fmt::join(endpoints, ","));
}

}  // namespace

std::string Stack::broker_frontends() const {
  return EndpointList(options_.data_host.address, frontend_ports_);
}
std::string Stack::broker_backends() const {
  return EndpointList(options_.data_host.address, backend_ports_);
}
std::string Stack::redis_url() const {
  return AdminUrl(sentinels_.empty() ? redis_port_ : SentinelMasterPort());
}

std::string Stack::RedisNodeUrl(std::size_t i) const { return AdminUrl(RedisNodePort(i)); }

std::string Stack::AdminUrl(int port) const {
  const std::string& host = options_.data_host.address;
  if (!options_.redis_acl) return fmt::format("redis://{}:{}", host, port);
  std::string password = ReadFile(redis_password_file("admin"));
  while (!password.empty() && password.back() == '\n') password.pop_back();
  return fmt::format("redis://default:{}@{}:{}", password, host, port);
}

std::string Stack::redis_url(const std::string& role) const {
  if (!sentinels_.empty()) {
    const std::string user = options_.redis_acl ? role + "@" : "";
    return fmt::format("redis-sentinel://{}{}/batchq", user, SentinelUrlHosts());
  }
  if (!options_.redis_acl) return redis_url();
  return fmt::format("redis://{}@{}:{}", role, options_.data_host.address, redis_port_);
}

RedisEndpoint Stack::redis_admin_endpoint() const {
  auto endpoint = ResolveRedisEndpoint(
      sentinels_.empty() ? redis_url() : redis_url("default"),
      options_.redis_acl ? redis_password_file("admin") : "",
      options_.redis_acl && !sentinels_.empty() ? redis_password_file("sentinels") : "");
  if (!endpoint) throw std::runtime_error(endpoint.error().message);
  return *endpoint;
}

std::string Stack::SentinelUrlHosts() const {
  std::vector<std::string> hosts;
  for (const int port : sentinel_ports_) {
    hosts.push_back(fmt::format("{}:{}", options_.data_host.address, port));
  }
  return fmt::format("{}", fmt::join(hosts, ","));
}

std::string Stack::redis_password_file(const std::string& role) const {
  return fmt::format("{}/redis-users/{}.password", dir_, role);
}

std::vector<std::string> Stack::RedisArgs(const std::string& role) const {
  std::vector<std::string> args{"--redis-url", redis_url(role)};
  if (options_.redis_acl)
    args.insert(args.end(), {"--redis-password-file", redis_password_file(role)});
  if (options_.redis_acl && !sentinels_.empty()) {
    args.insert(args.end(), {"--redis-sentinel-password-file", redis_password_file("sentinels")});
  }
  return args;
}

std::unique_ptr<HttpClient> Stack::Client() const {
  return Client(options_.auth ? admin_key() : std::string());
}

std::unique_ptr<HttpClient> Stack::Client(const std::string& api_key) const {
  HttpClientOptions options;
  options.timeout = std::chrono::seconds(70);
  options.bearer_token = api_key;
  auto client = HttpClient::Connect(url(), std::move(options));
  if (!client) throw std::runtime_error(client.error().message);
  return std::move(*client);
}

std::string Stack::admin_key() const {
  std::string key = ReadFile(admin_key_file());
  while (!key.empty() && (key.back() == '\n' || key.back() == ' ')) key.pop_back();
  return key;
}

std::string Stack::CreateKey(const std::string& tenant, const std::string& scopes,
                             const std::string& extra_json) const {
  const std::string body = fmt::format(R"({{"tenant":"{}","scopes":"{}"{}}})", tenant, scopes,
                                       extra_json.empty() ? "" : "," + extra_json);
  auto response = Client()->PostJson("/v1/keys", body);
  if (!response || response->status != 201) {
    throw std::runtime_error("POST /v1/keys refused: " +
                             (response ? response->body : response.error().message));
  }
  return JsonString(response->body, "key");
}

void Stack::MakeCurveKeys() {
  // The layout scripts/run.sh uses, made by the same script (with `batchq keygen`).
  if (RunCommand({BATCHQ_MAKE_KEYS, keys_dir(), BATCHQ_CLI_BIN}, nullptr) != 0) {
    throw std::runtime_error("scripts/make_keys.sh failed");
  }
}

std::vector<std::string> Stack::CurveClientArgs(const std::string& secret_file) const {
  if (!options_.curve) return {"--no-curve"};
  return {"--curve-secret-file", secret_file, "--broker-public-key-file", broker_public_key_file()};
}

void Stack::MakeRedisUsers() {
  const std::string users = dir_ + "/redis-users";
  if (!std::filesystem::exists(users + "/users.acl") &&
      RunCommand({BATCHQ_MAKE_REDIS_USERS, users}, nullptr) != 0) {
    throw std::runtime_error("scripts/make_redis_users.sh failed");
  }
}

namespace {

std::string Secret(const std::string& file) {
  std::string text = ReadFile(file);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

void WriteConfig(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

}  // namespace

void Stack::StartRedis(std::size_t i) {
  const std::string dir = i == 0 ? dir_ : fmt::format("{}/replica{}", dir_, i);
  std::filesystem::create_directories(dir);
  std::vector<std::string> argv{BATCHQ_REDIS_SERVER};
  if (!replicas_.empty()) {
    // In a file, so that the replication password is not on a command line, and one per
    // node, since Sentinel rewrites it (CONFIG REWRITE) in a failover.
    const std::string config = fmt::format("{}/node{}.conf", dir_, i);
    if (!std::filesystem::exists(config)) {
      std::string text;
      if (options_.redis_acl) {
        MakeRedisUsers();
        text = fmt::format("masteruser replica\nmasterauth {}\n",
                           Secret(redis_password_file("replica")));
      }
      if (i > 0) {
        text += fmt::format("replicaof {} {}\n", options_.data_host.address, redis_port_);
      }
      // Tests start and stop many of these: no 5 s pause to gather replicas before a
      // sync, nor for them to catch up before a shutdown.
      text += "repl-diskless-sync-delay 0\nshutdown-timeout 0\n";
      WriteConfig(config, text);
    }
    argv.push_back(config);
  }
  argv.insert(argv.end(),
              {"--port", std::to_string(RedisNodePort(i)), "--bind", options_.data_host.address,
               "--save", "", "--appendonly", options_.redis_aof ? "yes" : "no", "--appendfsync",
               "always", "--dir", dir});
  if (options_.redis_acl) {
    MakeRedisUsers();
    argv.insert(argv.end(), {"--aclfile", dir_ + "/redis-users/users.acl"});
  }
  ChildProcess& node = redis_node(i);
  node = ChildProcess(InHost(options_.data_host, argv),
                      i == 0 ? dir_ + "/redis.log" : fmt::format("{}/redis{}.log", dir_, i));
  const std::string url = RedisNodeUrl(i);
  const bool up = WaitFor([&] {
    std::string out;
    return RunCommand({BATCHQ_REDIS_CLI, "-u", url, "--no-auth-warning", "PING"}, &out) == 0 &&
           out.find("PONG") != std::string::npos;
  });
  if (!up) throw std::runtime_error("redis-server did not start: " + node.ReadLog());
}

void Stack::StartSentinel(std::size_t i) {
  // Sentinel rewrites its file as it learns the topology: one each, written once.
  const std::string config = fmt::format("{}/sentinel{}.conf", dir_, i);
  if (!std::filesystem::exists(config)) {
    std::string text = fmt::format(
        "port {}\nbind {}\ndir {}\n"
        "sentinel monitor batchq {} {} 2\n"
        "sentinel down-after-milliseconds batchq 1000\n"
        "sentinel failover-timeout batchq 5000\n"
        "sentinel parallel-syncs batchq 2\n",
        sentinel_ports_[i], options_.data_host.address, dir_, options_.data_host.address,
        redis_port_);
    if (options_.redis_acl) {
      const std::string sentinels = Secret(redis_password_file("sentinels"));
      text += fmt::format(
          "sentinel auth-user batchq sentinel\nsentinel auth-pass batchq {}\n"
          "requirepass {}\nsentinel sentinel-pass {}\n",
          Secret(redis_password_file("sentinel")), sentinels, sentinels);
    }
    WriteConfig(config, text);
  }
  sentinels_.at(i) = ChildProcess(InHost(options_.data_host, {BATCHQ_REDIS_SENTINEL, config}),
                                  fmt::format("{}/sentinel{}.log", dir_, i));
}

namespace {

// A reply as redis-cli prints it: one element per line.
void AppendLines(const RedisReply& reply, std::string& out) {
  if (reply.kind == RedisReply::Kind::kArray) {
    for (const auto& element : reply.elements) AppendLines(element, out);
    return;
  }
  out += reply.kind == RedisReply::Kind::kInteger ? std::to_string(reply.integer) : reply.str;
  out += '\n';
}

// One command on the Redis server or sentinel at `port`, in this process (tests poll
// these every 20 ms: a redis-cli per poll loaded the 2-core CI machine enough to slow
// the tests running beside them); its reply as lines, or "" on failure.
std::string AskRedis(const std::string& host, int port, const std::string& password,
                     const std::vector<std::string>& command) {
  RedisEndpoint endpoint;
  endpoint.host = host;
  endpoint.port = port;
  endpoint.password = password;
  RedisConnection redis(RedisConnection::Options{endpoint, std::chrono::milliseconds(500),
                                                 std::chrono::milliseconds(1000)});
  const std::vector<std::string_view> args(command.begin(), command.end());
  auto reply = redis.Command(args);
  if (!reply || reply->is_error()) return "";
  std::string out;
  AppendLines(*reply, out);
  return out;
}

}  // namespace

std::string Stack::RedisNodeRole(std::size_t i) const {
  const std::string admin = options_.redis_acl ? Secret(redis_password_file("admin")) : "";
  const std::string out = AskRedis(options_.data_host.address, RedisNodePort(i), admin, {"ROLE"});
  return out.substr(0, out.find('\n'));
}

std::string Stack::AskSentinel(const std::vector<std::string>& command) const {
  const std::string password = options_.redis_acl ? Secret(redis_password_file("sentinels")) : "";
  for (const int port : sentinel_ports_) {
    std::string out = AskRedis(options_.data_host.address, port, password, command);
    if (!out.empty()) return out;
  }
  return "";
}

int Stack::SentinelMasterPort() const {
  const std::string password = options_.redis_acl ? Secret(redis_password_file("sentinels")) : "";
  for (std::size_t i = 0; i < sentinels_.size(); ++i) {
    const std::string out = AskRedis(options_.data_host.address, sentinel_ports_[i], password,
                                     {"SENTINEL", "get-master-addr-by-name", "batchq"});
    const auto newline = out.find('\n');
    if (newline == std::string::npos) continue;
    const int port = std::atoi(out.c_str() + newline + 1);
    if (port > 0) return port;
  }
  return 0;
}

int Stack::RedisMasterNode() const {
  const int port = SentinelMasterPort();
  for (std::size_t i = 0; i <= replicas_.size(); ++i) {
    if (RedisNodePort(i) == port) return static_cast<int>(i);
  }
  return -1;
}

bool Stack::WaitRedisMaster(int node, int replicas) {
  const std::string password = options_.redis_acl ? Secret(redis_password_file("sentinels")) : "";
  const std::string port = std::to_string(RedisNodePort(static_cast<std::size_t>(node)));
  return WaitFor(
      [&] {
        for (std::size_t i = 0; i < sentinels_.size(); ++i) {
          if (!sentinels_[i].running()) continue;
          const int p = sentinel_ports_[i];
          const std::string& host = options_.data_host.address;
          const std::string master =
              AskRedis(host, p, password, {"SENTINEL", "get-master-addr-by-name", "batchq"});
          if (master.find("\n" + port) == std::string::npos) return false;
          // A failover needs the sentinels to know one another, and a replica to promote.
          const std::string peers =
              AskRedis(host, p, password, {"SENTINEL", "sentinels", "batchq"});
          const std::string known = AskRedis(host, p, password, {"SENTINEL", "replicas", "batchq"});
          const int others = static_cast<int>(std::count_if(sentinels_.begin(), sentinels_.end(),
                                                            [](auto& s) { return s.running(); })) -
                             1;
          if (static_cast<int>(CountLines("\n" + peers, "\nname\n")) < others) return false;
          if (static_cast<int>(CountLines(known, "\nmaster-link-status\nok\n")) < replicas) {
            return false;
          }
        }
        return true;
      },
      std::chrono::seconds(30));
}

void Stack::StartBroker(std::size_t i) {
  std::vector<std::string> argv{BATCHQ_BROKER_BIN, "--frontend", broker_frontend(i), "--backend",
                                broker_backend(i)};
  const auto redis = RedisArgs("broker");
  argv.insert(argv.end(), redis.begin(), redis.end());
  if (options_.curve) {
    argv.insert(argv.end(), {"--curve-secret-file", keys_dir() + "/broker.key", "--gateway-keys",
                             gateway_keys_dir(), "--worker-keys", worker_keys_dir()});
  } else {
    argv.push_back("--no-curve");
  }
  argv.insert(argv.end(), options_.broker_args.begin(), options_.broker_args.end());
  brokers_.at(i) =
      ChildProcess(InHost(options_.data_host, argv),
                   i == 0 ? dir_ + "/broker.log" : fmt::format("{}/broker{}.log", dir_, i));
}

std::vector<std::string> Stack::GatewayArgv(const std::string& ready_file) const {
  std::vector<std::string> argv{options_.gateway_bin,
                                "--listen",
                                options_.gateway_host.address,
                                "--port",
                                "0",
                                "--ready-file",
                                ready_file,
                                "--broker",
                                broker_frontends()};
  const auto redis = RedisArgs("gateway");
  argv.insert(argv.end(), redis.begin(), redis.end());
  if (options_.auth) {
    argv.insert(argv.end(), {"--admin-key-file", admin_key_file()});
  } else {
    argv.insert(argv.end(), {"--auth", "none"});
  }
  const auto curve = CurveClientArgs(gateway_secret_file());
  argv.insert(argv.end(), curve.begin(), curve.end());
  argv.insert(argv.end(), options_.gateway_args.begin(), options_.gateway_args.end());
  return argv;
}

void Stack::StartGateway() {
  ExtraGateway started = StartExtraGateway("gateway");
  gateway_ = std::move(started.process);
  gateway_port_ = static_cast<int>(JsonInt(ReadFile(dir_ + "/gateway.ready"), "port"));
}

Stack::ExtraGateway Stack::StartExtraGateway(const std::string& name) const {
  const std::string ready = fmt::format("{}/{}.ready", dir_, name);
  std::filesystem::remove(ready);
  ExtraGateway gateway{ChildProcess(InHost(options_.gateway_host, GatewayArgv(ready)),
                                    fmt::format("{}/{}.log", dir_, name)),
                       ""};
  // The file appears once its port is known; it is written whole, then renamed.
  if (!WaitFor([&] { return std::filesystem::exists(ready); })) {
    throw std::runtime_error(name + " did not start: " + gateway.process.ReadLog());
  }
  gateway.url =
      fmt::format("http://{}:{}", options_.gateway_host.address, JsonInt(ReadFile(ready), "port"));
  return gateway;
}

std::size_t Stack::AddWorker(const std::vector<std::string>& extra_args,
                             const std::string& curve_secret_file) {
  const std::size_t index = workers_.size();
  std::vector<std::string> argv{options_.worker_bin, "--name", fmt::format("w{}", index)};
  // Every broker, unless the caller names the ones this worker may know.
  if (std::find(extra_args.begin(), extra_args.end(), "--broker") == extra_args.end()) {
    argv.insert(argv.end(), {"--broker", broker_backends()});
  }
  const auto redis = RedisArgs("worker");
  argv.insert(argv.end(), redis.begin(), redis.end());
  const auto curve =
      CurveClientArgs(curve_secret_file.empty() ? worker_secret_file() : curve_secret_file);
  argv.insert(argv.end(), curve.begin(), curve.end());
  argv.insert(argv.end(), options_.worker_args.begin(), options_.worker_args.end());
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  workers_.push_back(std::make_unique<ChildProcess>(InHost(options_.worker_host, argv),
                                                    fmt::format("{}/worker{}.log", dir_, index)));
  return index;
}

Stack::Lease Stack::ReadLease() const {
  std::string value;
  Lease lease;
  if (RunCommand(
          {BATCHQ_REDIS_CLI, "-u", redis_url(), "--no-auth-warning", "GET", "bq:broker:lease"},
          &value) != 0) {
    return lease;
  }
  // "<epoch> <host>/<pid>/<random>"
  const auto space = value.find(' ');
  const auto first = value.find('/', space);
  const auto second = first == std::string::npos ? first : value.find('/', first + 1);
  if (space == std::string::npos || second == std::string::npos) return lease;
  lease.epoch = std::stoull(value.substr(0, space));
  lease.pid = std::stoi(value.substr(first + 1, second - first - 1));
  return lease;
}

int Stack::ActiveBroker(std::uint64_t after_epoch) {
  int active = -1;
  WaitFor([&] {
    const Lease lease = ReadLease();
    if (lease.epoch <= after_epoch) return false;
    for (std::size_t i = 0; i < brokers_.size(); ++i) {
      if (brokers_[i].pid() == lease.pid) active = static_cast<int>(i);
    }
    return active != -1;
  });
  return active;
}

bool Stack::WaitReady(int workers) {
  auto client = Client();
  return WaitFor([&] {
    auto ready = client->Get("/readyz");
    if (!ready || ready->status != 200) return false;
    auto types = client->Get("/v1/types");
    if (!types || types->status != 200) return false;
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    simdjson::dom::array list;
    if (parser.parse(types->body).get(root) != simdjson::SUCCESS) return false;
    if (root["workers"].get(list) != simdjson::SUCCESS) return false;
    return static_cast<int>(list.size()) == workers;
  });
}

std::string Stack::Logs() const {
  std::string out;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    if (entry.path().extension() != ".log") continue;
    out += "==== " + entry.path().filename().string() + "\n" + ReadFile(entry.path().string());
  }
  return out;
}

void ExpectUpperJobRuns(HttpClient& client, const std::string& input) {
  auto accepted =
      client.PostJson("/v1/jobs", fmt::format(R"({{"type":"upper","input":"{}"}})", input));
  ASSERT_TRUE(accepted);
  ASSERT_EQ(accepted->status, 202) << accepted->body;
  const std::string done = WaitTerminal(client, JsonString(accepted->body, "id"));
  std::string capitals = input;
  for (char& c : capitals) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(JsonString(done, "result"), capitals) << done;
}

std::string WaitTerminal(HttpClient& client, const std::string& id, int polls) {
  for (int i = 0; i < polls; ++i) {
    auto job = client.Get(fmt::format("/v1/jobs/{}?wait_ms=5000", id));
    if (!job || job->status != 200) return {};
    const std::string status = JsonString(job->body, "status");
    if (status != "queued" && status != "running") return job->body;
  }
  return {};
}

bool WaitForStatus(HttpClient& client, const std::string& id, const std::string& status) {
  return WaitFor([&] {
    auto job = client.Get("/v1/jobs/" + id);
    return job && JsonString(job->body, "status") == status;
  });
}

std::vector<std::string> BatchIds(const std::string& body) {
  std::vector<std::string> ids;
  for (std::size_t pos = 0; (pos = body.find("\"id\":\"", pos)) != std::string::npos;) {
    pos += 6;
    ids.push_back(body.substr(pos, body.find('"', pos) - pos));
  }
  return ids;
}

std::string JsonString(const std::string& body, const std::string& key, const std::string& sub) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view value;
  if (parser.parse(body).get(root) != simdjson::SUCCESS) return {};
  auto field = sub.empty() ? root[key] : root[key][sub];
  if (field.get(value) != simdjson::SUCCESS) return {};
  return std::string(value);
}

std::int64_t JsonInt(const std::string& body, const std::string& key, const std::string& sub) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::int64_t value = 0;
  if (parser.parse(body).get(root) != simdjson::SUCCESS) return 0;
  auto field = sub.empty() ? root[key] : root[key][sub];
  if (field.get(value) != simdjson::SUCCESS) return 0;
  return value;
}

int LoggedMetricsPort(const std::string& log) {
  const std::string marker = "metrics on port ";
  const auto at = log.find(marker);
  return at == std::string::npos ? 0 : std::atoi(log.c_str() + at + marker.size());
}

double MetricValue(const std::string& metrics, const std::string& series) {
  // At the start of a line: "# HELP name ..." names it too.
  const std::string line = series + " ";
  if (metrics.starts_with(line)) return std::stod(metrics.substr(line.size()));
  const auto at = metrics.find("\n" + line);
  if (at == std::string::npos) return -1;
  return std::stod(metrics.substr(at + 1 + line.size()));
}

long long Subscribers(RedisConnection& redis, std::string_view channel) {
  auto reply = redis.Command({"PUBSUB", "NUMSUB", channel});
  if (!reply || reply->elements.size() != 2) return -1;
  return reply->elements[1].integer;
}

RedisConnection RoleRedis(const Stack& stack, const std::string& role) {
  auto endpoint = ResolveRedisEndpoint(stack.redis_url(role), stack.redis_password_file(role));
  if (!endpoint) throw std::runtime_error(endpoint.error().message);
  return RedisConnection(RedisConnection::Options{*endpoint});
}

std::string ScrapeMetrics(const std::string& base_url, const std::string& api_key) {
  HttpClientOptions options;
  options.timeout = std::chrono::seconds(5);
  options.bearer_token = api_key;
  auto client = HttpClient::Connect(base_url, std::move(options));
  if (!client) return "";
  auto response = (*client)->Get("/metrics");
  return response && response->status == 200 ? response->body : "";
}

}  // namespace batchq::test
