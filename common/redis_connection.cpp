#include "common/redis_connection.h"

#include <poll.h>

#include <charconv>
#include <cstdio>
#include <fstream>
#include <unordered_map>

#include <fmt/format.h>
#include <hiredis/hiredis.h>

namespace batchq {
namespace {

timeval ToTimeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000),
                 static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

RedisReply Copy(const redisReply* raw) {
  RedisReply out;
  switch (raw->type) {
    case REDIS_REPLY_INTEGER:
      out.kind = RedisReply::Kind::kInteger;
      out.integer = raw->integer;
      break;
    case REDIS_REPLY_STRING:
      out.kind = RedisReply::Kind::kString;
      out.str.assign(raw->str, raw->len);
      break;
    case REDIS_REPLY_STATUS:
      out.kind = RedisReply::Kind::kStatus;
      out.str.assign(raw->str, raw->len);
      break;
    case REDIS_REPLY_ERROR:
      out.kind = RedisReply::Kind::kError;
      out.str.assign(raw->str, raw->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.kind = RedisReply::Kind::kArray;
      out.elements.reserve(raw->elements);
      for (size_t i = 0; i < raw->elements; ++i) out.elements.push_back(Copy(raw->element[i]));
      break;
    default:
      out.kind = RedisReply::Kind::kNil;
  }
  return out;
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

std::string Describe(const RedisEndpoint& ep) {
  const std::string where =
      ep.unix_path.empty() ? fmt::format("{}:{}", ep.host, ep.port) : ep.unix_path;
  return ep.user.empty() ? where : fmt::format("{} as user '{}'", where, ep.user);
}

}  // namespace

Result<RedisEndpoint> ResolveRedisEndpoint(std::string_view url, const std::string& password_file) {
  auto endpoint = ParseRedisUrl(url);
  if (!endpoint || password_file.empty()) return endpoint;
  std::ifstream in(password_file);
  std::string password;
  if (!in || !std::getline(in, password)) {
    return Fail(ErrorCode::kIoError,
                fmt::format("Cannot read the Redis password file {}.", password_file));
  }
  while (!password.empty() && (password.back() == '\r' || password.back() == ' ')) {
    password.pop_back();
  }
  endpoint->password = std::move(password);
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
  if (!url.starts_with("redis://")) {
    return Fail(ErrorCode::kInvalidRedisUrl,
                fmt::format("Redis URL '{}' must start with redis:// or unix://.", url));
  }
  std::string_view rest = url.substr(8);
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    auto credentials = ParseCredentials(rest.substr(0, at), endpoint);
    if (!credentials) return std::unexpected(credentials.error());
    rest = rest.substr(at + 1);
  }
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    const std::string_view db = rest.substr(slash + 1);
    if (!db.empty()) {
      const auto [end, ec] = std::from_chars(db.data(), db.data() + db.size(), endpoint.db);
      if (ec != std::errc{} || end != db.data() + db.size()) {
        return Fail(ErrorCode::kInvalidRedisUrl,
                    fmt::format("Redis database '{}' is not a number.", db));
      }
    }
    rest = rest.substr(0, slash);
  }
  if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    const std::string_view port = rest.substr(colon + 1);
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), endpoint.port);
    if (ec != std::errc{} || end != port.data() + port.size() || endpoint.port <= 0 ||
        endpoint.port > 65535) {
      return Fail(ErrorCode::kInvalidRedisUrl, fmt::format("Redis port '{}' is not valid.", port));
    }
    rest = rest.substr(0, colon);
  }
  if (!rest.empty()) endpoint.host = std::string(rest);
  return endpoint;
}

RedisConnection::RedisConnection(Options options) : options_(std::move(options)) {}

RedisConnection::~RedisConnection() { Drop(); }

void RedisConnection::Drop() {
  if (context_ != nullptr) redisFree(context_);
  context_ = nullptr;
}

Status RedisConnection::EnsureConnected() {
  if (context_ != nullptr && context_->err == 0) return Ok();
  Drop();
  const auto& ep = options_.endpoint;
  const timeval connect_timeout = ToTimeval(options_.connect_timeout);
  redisContext* context = ep.unix_path.empty()
                              ? redisConnectWithTimeout(ep.host.c_str(), ep.port, connect_timeout)
                              : redisConnectUnixWithTimeout(ep.unix_path.c_str(), connect_timeout);
  if (context == nullptr || context->err != 0) {
    std::string why = context != nullptr ? context->errstr : "out of memory";
    if (context != nullptr) redisFree(context);
    return Fail(ErrorCode::kRedisUnavailable,
                fmt::format("Redis at {} is unreachable: {}.", Describe(ep), why));
  }
  redisSetTimeout(context, ToTimeval(options_.command_timeout));
  if (ep.unix_path.empty()) redisEnableKeepAlive(context);
  context_ = context;
  if (auto authenticated = Authenticate(); !authenticated) return authenticated;
  if (ep.db != 0) {
    auto selected = Command({"SELECT", std::to_string(ep.db)});
    if (!selected) return std::unexpected(selected.error());
    if (selected->is_error()) {
      Drop();
      return Fail(ErrorCode::kRedisUnavailable, fmt::format("SELECT failed: {}.", selected->str));
    }
  }
  return Ok();
}

Status RedisConnection::Authenticate() {
  const auto& ep = options_.endpoint;
  if (ep.password.empty()) return Ok();
  auto reply =
      ep.user.empty() ? Command({"AUTH", ep.password}) : Command({"AUTH", ep.user, ep.password});
  if (!reply) return std::unexpected(reply.error());
  if (reply->is_error()) {
    Drop();
    return Fail(ErrorCode::kRedisAuthFailed,
                fmt::format("Redis at {} refused the password: {}.", Describe(ep), reply->str));
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
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const auto& command : commands) {
    argv.clear();
    lengths.clear();
    for (const auto& arg : command) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(),
                               lengths.data()) != REDIS_OK) {
      Drop();
      return Fail(ErrorCode::kRedisUnavailable, "Could not buffer a Redis command.");
    }
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
    replies.push_back(Copy(static_cast<redisReply*>(raw)));
    freeReplyObject(raw);
  }
  return replies;
}

void RedisConnection::DropIfClosedByPeer() {
  if (context_ == nullptr || context_->fd < 0) return;
  // Between exchanges Redis sends nothing, so a readable socket means EOF or an error.
  pollfd fd{context_->fd, POLLIN, 0};
  if (::poll(&fd, 1, 0) > 0) Drop();
}

Result<std::vector<RedisReply>> RedisConnection::Pipeline(
    std::span<const std::vector<std::string_view>> commands, Replay replay) {
  DropIfClosedByPeer();
  auto replies = PipelineOnce(commands);
  if (!replies && replay == Replay::kSafe) replies = PipelineOnce(commands);
  return replies;
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
  if (context_ == nullptr) return Fail(ErrorCode::kRedisUnavailable, "Not subscribed.");
  for (;;) {
    void* raw = nullptr;
    if (redisGetReplyFromReader(context_, &raw) != REDIS_OK) {
      Drop();
      return Fail(ErrorCode::kRedisUnavailable, "Bad reply on the subscription.");
    }
    if (raw != nullptr) {
      RedisReply reply = Copy(static_cast<redisReply*>(raw));
      freeReplyObject(raw);
      if (reply.kind == RedisReply::Kind::kArray && reply.elements.size() == 3 &&
          reply.elements[0].str == "message") {
        return std::optional<std::string>(std::move(reply.elements[2].str));
      }
      continue;  // subscribe confirmations and the like
    }
    pollfd pfd{context_->fd, POLLIN, 0};
    const int ready = poll(&pfd, 1, static_cast<int>(timeout.count()));
    if (ready == 0) return std::optional<std::string>();
    if (ready < 0 || redisBufferRead(context_) != REDIS_OK) {
      Drop();
      return Fail(ErrorCode::kRedisUnavailable, "The subscription connection was lost.");
    }
  }
}

}  // namespace batchq
