#include "common/redis_connection.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <memory>
#include <unordered_map>

#include <fmt/format.h>
#include <hiredis/hiredis.h>

#include "common/resp_command.h"

namespace batchq {
namespace {

timeval ToTimeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000),
                 static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

// hiredis builds each reply through these functions, straight into a RedisReply: its
// own redisReply, copied into one and then freed, was about a third of what each reply
// cost the gateway (docs/BENCHMARKS.md). A reply's root is allocated here and belongs to
// whoever takes it from hiredis (TakeReply); hiredis frees only roots (freeObject), on
// errors. An element is made in its parent's `elements` (hiredis makes them in order,
// each once, and completes a nested array before its next sibling), reserved to their
// count when the array is made.
RedisReply* PlaceReply(const redisReadTask* task) {
  if (task->parent == nullptr) return new RedisReply;
  auto* parent = static_cast<RedisReply*>(task->parent->obj);
  return &parent->elements.emplace_back();
}

void* MakeText(const redisReadTask* task, char* text, size_t length) {
  RedisReply* reply = PlaceReply(task);
  reply->kind = task->type == REDIS_REPLY_ERROR    ? RedisReply::Kind::kError
                : task->type == REDIS_REPLY_STATUS ? RedisReply::Kind::kStatus
                                                   : RedisReply::Kind::kString;
  reply->str.assign(text, length);
  return reply;
}

void* MakeArray(const redisReadTask* task, std::size_t count) {
  RedisReply* reply = PlaceReply(task);
  reply->kind = RedisReply::Kind::kArray;
  reply->elements.reserve(count);
  return reply;
}

void* MakeInteger(const redisReadTask* task, long long value) {
  RedisReply* reply = PlaceReply(task);
  reply->kind = RedisReply::Kind::kInteger;
  reply->integer = value;
  return reply;
}

void* MakeNil(const redisReadTask* task) { return PlaceReply(task); }

void FreeReply(void* reply) { delete static_cast<RedisReply*>(reply); }

#if HIREDIS_MAJOR >= 1
// hiredis 1.x (Ubuntu 24.04, the CUDA image's base) adds RESP3's doubles and booleans,
// which RESP2, all batchq speaks, never sends; they are kept as text and integers.
void* MakeArrayOfSize(const redisReadTask* task, size_t count) { return MakeArray(task, count); }
void* MakeDouble(const redisReadTask* task, double, char* text, size_t length) {
  return MakeText(task, text, length);
}
void* MakeBool(const redisReadTask* task, int value) { return MakeInteger(task, value); }
redisReplyObjectFunctions kReplyBuilders = {MakeText, MakeArrayOfSize, MakeInteger, MakeDouble,
                                            MakeNil,  MakeBool,        FreeReply};
#else
void* MakeArrayOfInt(const redisReadTask* task, int count) {
  return MakeArray(task, static_cast<std::size_t>(count));
}
redisReplyObjectFunctions kReplyBuilders = {MakeText, MakeArrayOfInt, MakeInteger, MakeNil,
                                            FreeReply};
#endif

// The reply hiredis handed over (made by kReplyBuilders), now the caller's.
RedisReply TakeReply(void* raw) {
  std::unique_ptr<RedisReply> owned(static_cast<RedisReply*>(raw));
  return std::move(*owned);
}

Result<std::string> PercentDecoded(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    unsigned value = 0;
    const char* first = text.data() + i + 1;
    if (i + 2 >= text.size() || std::from_chars(first, first + 2, value, 16).ptr != first + 2) {
      return Fail(ErrorCode::kInvalidRedisUrl, "A %-escape in the Redis URL is malformed.");
    }
    out.push_back(static_cast<char>(value));
    i += 2;
  }
  return out;
}

// "user:password", ":password" or "password"-less "user" before the '@'.
Status ParseCredentials(std::string_view userinfo, RedisEndpoint& endpoint) {
  const auto colon = userinfo.find(':');
  auto user = PercentDecoded(userinfo.substr(0, colon));
  if (!user) return std::unexpected(user.error());
  endpoint.user = std::move(*user);
  if (colon != std::string_view::npos) {
    auto password = PercentDecoded(userinfo.substr(colon + 1));
    if (!password) return std::unexpected(password.error());
    endpoint.password = std::move(*password);
  }
  return Ok();
}

// Where a connection goes (`server`, or the endpoint's own address), and as whom.
std::string Describe(const RedisEndpoint& ep, std::string_view server = "") {
  std::string where(server);
  if (where.empty()) {
    where = !ep.sentinels.empty()  ? fmt::format("master '{}' (by sentinel)", ep.master_name)
            : ep.unix_path.empty() ? fmt::format("{}:{}", ep.host, ep.port)
                                   : ep.unix_path;
  }
  return ep.user.empty() ? where : fmt::format("{} as user '{}'", where, ep.user);
}

Result<redisContext*> Connect(const std::string& host, int port, const std::string& unix_path,
                              std::chrono::milliseconds timeout) {
  const timeval connect_timeout = ToTimeval(timeout);
  redisContext* context = unix_path.empty()
                              ? redisConnectWithTimeout(host.c_str(), port, connect_timeout)
                              : redisConnectUnixWithTimeout(unix_path.c_str(), connect_timeout);
  if (context == nullptr || context->err != 0) {
    std::string why = context != nullptr ? context->errstr : "out of memory";
    if (context != nullptr) redisFree(context);
    return Fail(ErrorCode::kRedisUnavailable, std::move(why));
  }
  if (unix_path.empty()) redisEnableKeepAlive(context);
  context->reader->fn = &kReplyBuilders;
#if HIREDIS_MAJOR >= 1
  // Its default handler of RESP3 pushes would free one as a redisReply.
  redisSetPushCallback(context, nullptr);
#endif
  return context;
}

// One command on an open context, with no reconnecting: for logging in and asking
// sentinels, where a failure means "try the next one".
Result<RedisReply> Exchange(redisContext* context, std::initializer_list<std::string_view> args) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const auto& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  void* raw = redisCommandArgv(context, static_cast<int>(argv.size()), argv.data(), lengths.data());
  if (raw == nullptr) {
    return Fail(ErrorCode::kRedisUnavailable,
                fmt::format("Redis connection failed: {}.", context->errstr));
  }
  return TakeReply(raw);
}

Result<HostPort> AskSentinelForMaster(const HostPort& sentinel, const RedisEndpoint& ep,
                                      std::chrono::milliseconds timeout) {
  auto context = Connect(sentinel.host, sentinel.port, "", timeout);
  if (!context) {
    return Fail(ErrorCode::kRedisUnavailable,
                fmt::format("sentinel {}:{} is unreachable: {}", sentinel.host, sentinel.port,
                            context.error().message));
  }
  std::unique_ptr<redisContext, decltype(&redisFree)> owned(*context, &redisFree);
  redisSetTimeout(owned.get(), ToTimeval(timeout));
  if (!ep.sentinel_password.empty()) {
    auto auth = Exchange(owned.get(), {"AUTH", ep.sentinel_password});
    if (!auth || auth->is_error()) {
      return Fail(ErrorCode::kRedisUnavailable,
                  fmt::format("sentinel {}:{} refused its password: {}", sentinel.host,
                              sentinel.port, auth ? auth->str : auth.error().message));
    }
  }
  auto reply = Exchange(owned.get(), {"SENTINEL", "get-master-addr-by-name", ep.master_name});
  if (!reply) return std::unexpected(reply.error());
  if (reply->kind != RedisReply::Kind::kArray || reply->elements.size() != 2) {
    return Fail(ErrorCode::kRedisUnavailable,
                fmt::format("sentinel {}:{} knows no master '{}'{}", sentinel.host, sentinel.port,
                            ep.master_name, reply->is_error() ? ": " + reply->str : ""));
  }
  HostPort master{reply->elements[0].str, 0};
  const std::string& port = reply->elements[1].str;
  std::from_chars(port.data(), port.data() + port.size(), master.port);
  return master;
}

// A write refused because the server is a replica: nothing ran.
bool RefusedAsReplica(const std::vector<RedisReply>& replies) {
  return std::any_of(replies.begin(), replies.end(), [](const RedisReply& reply) {
    return reply.is_error() && reply.str.find("READONLY") != std::string::npos;
  });
}

}  // namespace

namespace {

Result<std::string> ReadSecretFile(const std::string& path, std::string_view what) {
  std::ifstream in(path);
  std::string secret;
  if (!in || !std::getline(in, secret)) {
    return Fail(ErrorCode::kIoError, fmt::format("Cannot read the {} file {}.", what, path));
  }
  while (!secret.empty() && (secret.back() == '\r' || secret.back() == ' ')) secret.pop_back();
  return secret;
}

// "host", "host:port" or ":port"; the defaults fill what is left out.
Status ParseHostPort(std::string_view text, HostPort& out) {
  if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
    const std::string_view port = text.substr(colon + 1);
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), out.port);
    if (ec != std::errc{} || end != port.data() + port.size() || out.port <= 0 ||
        out.port > 65535) {
      return Fail(ErrorCode::kInvalidRedisUrl, fmt::format("Redis port '{}' is not valid.", port));
    }
    text = text.substr(0, colon);
  }
  if (!text.empty()) out.host = std::string(text);
  return Ok();
}

Status ParseDb(std::string_view db, RedisEndpoint& endpoint) {
  if (db.empty()) return Ok();
  const auto [end, ec] = std::from_chars(db.data(), db.data() + db.size(), endpoint.db);
  if (ec != std::errc{} || end != db.data() + db.size()) {
    return Fail(ErrorCode::kInvalidRedisUrl,
                fmt::format("Redis database '{}' is not a number.", db));
  }
  return Ok();
}

// After "redis-sentinel://" and the credentials: "h1:p1,h2:p2/MASTER[/db]".
Status ParseSentinels(std::string_view rest, RedisEndpoint& endpoint) {
  const auto slash = rest.find('/');
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  for (std::string_view hosts = rest.substr(0, slash); !hosts.empty();) {
    const auto comma = hosts.find(',');
    HostPort sentinel{"", 26379};
    if (auto parsed = ParseHostPort(hosts.substr(0, comma), sentinel); !parsed) return parsed;
    if (sentinel.host.empty()) {
      return Fail(ErrorCode::kInvalidRedisUrl, "A sentinel in the Redis URL has no host.");
    }
    endpoint.sentinels.push_back(std::move(sentinel));
    hosts = comma == std::string_view::npos ? std::string_view{} : hosts.substr(comma + 1);
  }
  const auto db_slash = path.find('/');
  endpoint.master_name = std::string(path.substr(0, db_slash));
  if (endpoint.sentinels.empty() || endpoint.master_name.empty()) {
    return Fail(ErrorCode::kInvalidRedisUrl,
                "redis-sentinel:// needs sentinels and a master name: "
                "redis-sentinel://host:26379,host:26380/MASTER.");
  }
  return db_slash == std::string_view::npos ? Ok() : ParseDb(path.substr(db_slash + 1), endpoint);
}

}  // namespace

Error UnexpectedReply(std::string_view what, const RedisReply& reply) {
  return Error{ErrorCode::kRedisUnavailable,
               fmt::format("Redis answered {} unexpectedly: {}.", what,
                           reply.is_error() ? reply.str : std::string("wrong reply type"))};
}

Result<RedisEndpoint> ResolveRedisEndpoint(std::string_view url, const std::string& password_file,
                                           const std::string& sentinel_password_file) {
  auto endpoint = ParseRedisUrl(url);
  if (!endpoint) return endpoint;
  if (!password_file.empty()) {
    auto password = ReadSecretFile(password_file, "Redis password");
    if (!password) return std::unexpected(password.error());
    endpoint->password = std::move(*password);
  }
  if (!sentinel_password_file.empty()) {
    auto password = ReadSecretFile(sentinel_password_file, "Redis Sentinel password");
    if (!password) return std::unexpected(password.error());
    endpoint->sentinel_password = std::move(*password);
  }
  return endpoint;
}

Result<RedisEndpoint> ParseRedisUrl(std::string_view url) {
  RedisEndpoint endpoint;
  if (url.starts_with("unix://")) {
    endpoint.unix_path = std::string(url.substr(7));
    if (endpoint.unix_path.empty())
      return Fail(ErrorCode::kInvalidRedisUrl, "unix:// needs a path.");
    return endpoint;
  }
  constexpr std::string_view kSentinelScheme = "redis-sentinel://";
  const bool sentinel = url.starts_with(kSentinelScheme);
  if (!sentinel && !url.starts_with("redis://")) {
    return Fail(ErrorCode::kInvalidRedisUrl,
                fmt::format("Redis URL '{}' must start with redis://, redis-sentinel:// or "
                            "unix://.",
                            url));
  }
  std::string_view rest = url.substr(sentinel ? kSentinelScheme.size() : 8);
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    auto credentials = ParseCredentials(rest.substr(0, at), endpoint);
    if (!credentials) return std::unexpected(credentials.error());
    rest = rest.substr(at + 1);
  }
  if (sentinel) {
    if (auto parsed = ParseSentinels(rest, endpoint); !parsed)
      return std::unexpected(parsed.error());
    return endpoint;
  }
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    if (auto db = ParseDb(rest.substr(slash + 1), endpoint); !db)
      return std::unexpected(db.error());
    rest = rest.substr(0, slash);
  }
  HostPort server{endpoint.host, endpoint.port};
  if (auto parsed = ParseHostPort(rest, server); !parsed) return std::unexpected(parsed.error());
  endpoint.host = std::move(server.host);
  endpoint.port = server.port;
  return endpoint;
}

RedisConnection::RedisConnection(Options options) : options_(std::move(options)) {}

RedisConnection::~RedisConnection() { Drop(); }

void RedisConnection::Drop() {
  if (context_ != nullptr) redisFree(context_);
  context_ = nullptr;
}

std::string RedisConnection::server() const { return context_ != nullptr ? server_ : ""; }

Status RedisConnection::EnsureConnected() {
  if (context_ != nullptr && context_->err == 0) return Ok();
  Drop();
  const auto& ep = options_.endpoint;
  if (!ep.sentinels.empty()) return OpenMasterFromSentinels();
  return Open(ep.host, ep.port, ep.unix_path);
}

Status RedisConnection::Open(const std::string& host, int port, const std::string& unix_path) {
  Drop();
  auto context = Connect(host, port, unix_path, options_.connect_timeout);
  if (!context) {
    return Fail(
        ErrorCode::kRedisUnavailable,
        fmt::format("Redis at {} is unreachable: {}.",
                    Describe(options_.endpoint,
                             unix_path.empty() ? fmt::format("{}:{}", host, port) : unix_path),
                    context.error().message));
  }
  redisSetTimeout(*context, ToTimeval(options_.command_timeout));
  context_ = *context;
  ++generation_;
  server_ = unix_path.empty() ? fmt::format("{}:{}", host, port) : unix_path;
  if (auto authenticated = Authenticate(); !authenticated) return authenticated;
  if (options_.endpoint.db != 0) {
    auto selected = Exchange(context_, {"SELECT", std::to_string(options_.endpoint.db)});
    if (!selected || selected->is_error()) {
      Drop();
      return Fail(
          ErrorCode::kRedisUnavailable,
          fmt::format("SELECT failed: {}.", selected ? selected->str : selected.error().message));
    }
  }
  return Ok();
}

Status RedisConnection::OpenMasterFromSentinels() {
  const auto& ep = options_.endpoint;
  std::string why;
  for (std::size_t k = 0; k < ep.sentinels.size(); ++k) {
    const std::size_t i = (first_sentinel_ + k) % ep.sentinels.size();
    const HostPort& sentinel = ep.sentinels[i];
    auto master = AskSentinelForMaster(sentinel, ep, options_.connect_timeout);
    if (!master) {
      why = master.error().message;
      continue;
    }
    if (auto opened = Open(master->host, master->port, ""); !opened) {
      if (opened.error().code == ErrorCode::kRedisAuthFailed) return opened;
      why = opened.error().message;
      continue;
    }
    // A sentinel may still name a master that a failover has since demoted.
    auto role = Exchange(context_, {"ROLE"});
    if (role && role->kind == RedisReply::Kind::kArray && !role->elements.empty() &&
        role->elements[0].str == "master") {
      first_sentinel_ = i;
      next_master_check_ = std::chrono::steady_clock::now() + options_.master_check_interval;
      return Ok();
    }
    why = fmt::format("sentinel {}:{} named {} as master '{}', but it says it is {}", sentinel.host,
                      sentinel.port, server_, ep.master_name,
                      role && role->kind == RedisReply::Kind::kArray && !role->elements.empty()
                          ? role->elements[0].str
                          : std::string("unable to say"));
    Drop();
  }
  return Fail(ErrorCode::kRedisUnavailable,
              fmt::format("No sentinel named a reachable master '{}': {}.", ep.master_name, why));
}

Status RedisConnection::Authenticate() {
  const auto& ep = options_.endpoint;
  if (ep.password.empty()) return Ok();
  auto reply = ep.user.empty() ? Exchange(context_, {"AUTH", ep.password})
                               : Exchange(context_, {"AUTH", ep.user, ep.password});
  if (!reply) {
    Drop();
    return std::unexpected(reply.error());
  }
  if (reply->is_error()) {
    Drop();
    return Fail(ErrorCode::kRedisAuthFailed, fmt::format("Redis at {} refused the password: {}.",
                                                         Describe(ep, server_), reply->str));
  }
  return Ok();
}

Status RedisConnection::CheckLogin() {
  auto reply = Command({"PING"});
  if (!reply) {
    if (reply.error().code == ErrorCode::kRedisAuthFailed) return std::unexpected(reply.error());
    return Ok();
  }
  if (reply->is_error() && reply->str.starts_with("NOAUTH")) {
    return Fail(ErrorCode::kRedisAuthFailed,
                fmt::format("Redis at {} needs a password: give it in --redis-url "
                            "(redis://user:password@host) or, better, in "
                            "--redis-password-file.",
                            Describe(options_.endpoint)));
  }
  if (reply->is_error()) {
    return Fail(ErrorCode::kRedisAuthFailed, fmt::format("Redis at {} refused PING: {}.",
                                                         Describe(options_.endpoint), reply->str));
  }
  return Ok();
}

Result<std::vector<RedisReply>> RedisConnection::PipelineOnce(
    std::span<const std::vector<std::string_view>> commands) {
  if (auto status = EnsureConnected(); !status) return std::unexpected(status.error());
  // Every command in one buffer, handed to hiredis once (resp_command.h).
  std::string formatted;
  AppendRespCommands(formatted, commands);
  if (redisAppendFormattedCommand(context_, formatted.data(), formatted.size()) != REDIS_OK) {
    Drop();
    return Fail(ErrorCode::kRedisUnavailable, "Could not buffer a Redis command.");
  }
  std::vector<RedisReply> replies;
  replies.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
      const std::string why = context_->errstr;
      Drop();
      return Fail(ErrorCode::kRedisUnavailable, fmt::format("Redis connection failed: {}.", why));
    }
    replies.push_back(TakeReply(raw));
  }
  return replies;
}

void RedisConnection::DropIfClosedByPeer() {
  if (context_ == nullptr || context_->fd < 0) return;
  // Between exchanges Redis sends nothing, so a readable socket means EOF or an error.
  pollfd fd{context_->fd, POLLIN, 0};
  if (::poll(&fd, 1, 0) > 0) Drop();
}

bool RedisConnection::DropIfNoLongerMaster() {
  const auto& ep = options_.endpoint;
  if (ep.sentinels.empty() || context_ == nullptr) return false;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_master_check_) return false;
  next_master_check_ = now + options_.master_check_interval;
  auto master = AskSentinelForMaster(ep.sentinels[first_sentinel_], ep, options_.connect_timeout);
  if (!master) {
    first_sentinel_ = (first_sentinel_ + 1) % ep.sentinels.size();
    return false;
  }
  if (fmt::format("{}:{}", master->host, master->port) == server_) return false;
  Drop();
  return true;
}

Result<std::vector<RedisReply>> RedisConnection::Pipeline(
    std::span<const std::vector<std::string_view>> commands, Replay replay) {
  DropIfClosedByPeer();
  DropIfNoLongerMaster();
  auto replies = PipelineOnce(commands);
  if (!replies && replay == Replay::kSafe) replies = PipelineOnce(commands);
  if (replies && RefusedAsReplica(*replies)) {
    Drop();  // a failover demoted this server: find the master again
    replies = PipelineOnce(commands);
    if (replies && RefusedAsReplica(*replies)) Drop();
  }
  return replies;
}

Result<std::optional<std::vector<RedisReply>>> RedisConnection::PipelineOnConnection(
    std::uint64_t generation, std::span<const std::vector<std::string_view>> commands) {
  DropIfClosedByPeer();
  if (context_ == nullptr || context_->err != 0 || generation != generation_) {
    return std::nullopt;
  }
  auto replies = PipelineOnce(commands);
  if (!replies) return std::unexpected(replies.error());
  if (RefusedAsReplica(*replies)) {
    Drop();
    return std::nullopt;
  }
  return std::move(*replies);
}

Result<RedisReply> RedisConnection::Command(std::span<const std::string_view> args, Replay replay) {
  const std::vector<std::vector<std::string_view>> one{{args.begin(), args.end()}};
  auto replies = Pipeline(one, replay);
  if (!replies) return std::unexpected(replies.error());
  return std::move(replies->front());
}

Result<RedisReply> RedisConnection::Command(std::initializer_list<std::string_view> args) {
  return Command(std::span<const std::string_view>(args.begin(), args.size()));
}

Result<RedisReply> RedisConnection::Eval(const RedisScript& script,
                                         std::span<const std::string_view> keys,
                                         std::span<const std::string_view> args, Replay replay) {
  // Redis forgets scripts when it restarts, so NOSCRIPT reloads once and retries.
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::string& sha = script_shas_[&script];
    if (sha.empty() || attempt > 0) {
      auto loaded = Command({"SCRIPT", "LOAD", script.body});
      if (!loaded) return std::unexpected(loaded.error());
      if (loaded->is_error()) return loaded;
      sha = loaded->str;
    }
    const std::string key_count = std::to_string(keys.size());
    std::vector<std::string_view> argv{"EVALSHA", sha, key_count};
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    // NOSCRIPT means the script did not run, so asking again is safe whatever `replay` says.
    auto reply = Command(argv, replay);
    if (!reply || !reply->is_error() || !reply->str.starts_with("NOSCRIPT")) return reply;
  }
  return Fail(ErrorCode::kRedisUnavailable, "Redis kept forgetting a Lua script.");
}

Status RedisConnection::Subscribe(std::string_view channel) {
  Drop();
  auto reply = Command({"SUBSCRIBE", channel});
  if (!reply) return std::unexpected(reply.error());
  if (reply->kind != RedisReply::Kind::kArray) {
    Drop();
    return Fail(ErrorCode::kRedisUnavailable, "SUBSCRIBE was not confirmed.");
  }
  return Ok();
}

Result<std::optional<std::string>> RedisConnection::NextMessage(std::chrono::milliseconds timeout) {
  for (;;) {
    auto event = NextEvent(timeout);
    if (!event) return std::unexpected(event.error());
    if (!*event) return std::optional<std::string>();
    if ((*event)->kind == PubSubEvent::Kind::kMessage) {
      return std::optional<std::string>(std::move((*event)->payload));
    }
  }
}

Status RedisConnection::SendSubscription(Subscription what, std::string_view channel) {
  if (context_ == nullptr) return Fail(ErrorCode::kRedisUnavailable, "Not subscribed.");
  std::string formatted;
  const std::string_view verb = what == Subscription::kSubscribe ? "SUBSCRIBE" : "UNSUBSCRIBE";
  const std::string_view args[] = {verb, channel};
  AppendRespCommand(formatted, args);
  if (redisAppendFormattedCommand(context_, formatted.data(), formatted.size()) != REDIS_OK) {
    Drop();
    return Fail(ErrorCode::kRedisUnavailable, "Could not buffer a Redis command.");
  }
  for (int done = 0; !done;) {
    if (redisBufferWrite(context_, &done) != REDIS_OK) {
      Drop();
      return Fail(ErrorCode::kRedisUnavailable, "The subscription connection was lost.");
    }
  }
  return Ok();
}

namespace {
// A pub/sub push as an event; nullopt for one we do not report (e.g. a pong).
std::optional<RedisConnection::PubSubEvent> PubSubEventOf(RedisReply& reply) {
  using Kind = RedisConnection::PubSubEvent::Kind;
  if (reply.is_error()) return RedisConnection::PubSubEvent{Kind::kRefused, {}, reply.str};
  if (reply.kind != RedisReply::Kind::kArray || reply.elements.size() != 3) return std::nullopt;
  const std::string& what = reply.elements[0].str;
  std::string& channel = reply.elements[1].str;
  if (what == "message") {
    return RedisConnection::PubSubEvent{Kind::kMessage, std::move(channel),
                                        std::move(reply.elements[2].str)};
  }
  if (what == "subscribe") return RedisConnection::PubSubEvent{Kind::kSubscribed, channel, {}};
  if (what == "unsubscribe") return RedisConnection::PubSubEvent{Kind::kUnsubscribed, channel, {}};
  return std::nullopt;
}
}  // namespace

Result<std::optional<RedisConnection::PubSubEvent>> RedisConnection::NextEvent(
    std::chrono::milliseconds timeout, int wake_fd) {
  if (context_ == nullptr) return Fail(ErrorCode::kRedisUnavailable, "Not subscribed.");
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + timeout;
  const bool checks = !options_.endpoint.sentinels.empty() &&
                      options_.master_check_interval > std::chrono::milliseconds(0);
  for (;;) {
    // Messages published on the master the sentinels name now never reach a subscription
    // on the one they replaced: the subscriber must subscribe again.
    if (DropIfNoLongerMaster()) {
      return Fail(ErrorCode::kRedisUnavailable, "The sentinels name another master now.");
    }
    void* raw = nullptr;
    if (redisGetReplyFromReader(context_, &raw) != REDIS_OK) {
      Drop();
      return Fail(ErrorCode::kRedisUnavailable, "Bad reply on the subscription.");
    }
    if (raw != nullptr) {
      RedisReply reply = TakeReply(raw);
      if (auto event = PubSubEventOf(reply)) return event;
      continue;
    }
    const auto now = Clock::now();
    // Until the deadline, or the next time to ask the sentinels, if sooner.
    const auto until = checks ? std::min(deadline, next_master_check_) : deadline;
    const auto wait = std::max(std::chrono::ceil<std::chrono::milliseconds>(until - now),
                               std::chrono::milliseconds(0));
    pollfd fds[2] = {{context_->fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
    const int ready = poll(fds, wake_fd >= 0 ? 2 : 1, static_cast<int>(wait.count()));
    if (ready == 0 && Clock::now() >= deadline) return std::optional<PubSubEvent>();
    if (ready == 0) continue;  // time to ask the sentinels
    if (ready < 0 && errno != EINTR) {
      Drop();
      return Fail(ErrorCode::kRedisUnavailable, "The subscription connection was lost.");
    }
    if (ready > 0 && (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) &&
        redisBufferRead(context_) != REDIS_OK) {
      Drop();
      return Fail(ErrorCode::kRedisUnavailable, "The subscription connection was lost.");
    }
    if (ready > 0 && wake_fd >= 0 && (fds[1].revents & POLLIN)) {
      return std::optional<PubSubEvent>(PubSubEvent{PubSubEvent::Kind::kWoken, {}, {}});
    }
    if (ready < 0) return std::optional<PubSubEvent>();  // interrupted: as a timeout
  }
}

}  // namespace batchq
