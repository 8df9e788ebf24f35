#pragma once
// A blocking Redis connection (hiredis) that reconnects by itself. Failures on the
// way to Redis come back as Error{ErrorCode::kRedisUnavailable}, never as exceptions.
// Not thread-safe: each thread that talks to Redis owns its own connection.

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/error.h"

struct redisContext;

namespace batchq {

struct HostPort {
  std::string host;
  int port = 0;
};

struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string unix_path;  // used instead of host:port when set
  int db = 0;
  // ACL user and password (AUTH on every connection); empty: none, or the default user.
  std::string user;
  std::string password;
  // Redis Sentinel: when set, host/port are not used; the master is the server these
  // sentinels name `master_name`, asked again on every (re)connect and confirmed by ROLE.
  std::vector<HostPort> sentinels;
  std::string master_name;
  std::string sentinel_password;  // AUTH to the sentinels themselves (requirepass); or none
};

// Accepts "redis://[[user]:password@]host:port[/db]" (user and password may be
// %-encoded), "unix:///path/to/socket" and
// "redis-sentinel://[[user]:password@]host:port[,host:port...]/MASTER[/db]" (port
// 26379 when left out; user and password are the master's).
Result<RedisEndpoint> ParseRedisUrl(std::string_view url);

// ParseRedisUrl, with the password read from `password_file` when one is named (it then
// replaces any in the URL), and the sentinels' from `sentinel_password_file`, so that
// neither shows on a command line.
Result<RedisEndpoint> ResolveRedisEndpoint(std::string_view url, const std::string& password_file,
                                           const std::string& sentinel_password_file = "");

// A reply copied out of hiredis, so it outlives the connection's buffers.
struct RedisReply {
  enum class Kind { kNil, kInteger, kString, kStatus, kError, kArray };
  Kind kind = Kind::kNil;
  long long integer = 0;
  std::string str;
  std::vector<RedisReply> elements;

  bool is_error() const { return kind == Kind::kError; }
};

// The error for a reply of the wrong shape or an error reply, naming the command (`what`).
Error UnexpectedReply(std::string_view what, const RedisReply& reply);

// A Lua script, loaded once per connection and then called by EVALSHA.
// Keep instances alive (static) for as long as connections use them.
struct RedisScript {
  std::string body;
};

class RedisConnection {
 public:
  // The one place the Redis timeouts are set; every process uses these.
  struct Options {
    RedisEndpoint endpoint;
    std::chrono::milliseconds connect_timeout{500};
    std::chrono::milliseconds command_timeout{2000};
    // With sentinels: how often a connection asks a sentinel whether its server is still
    // the master it names. A master the sentinels replaced while it still ran (cut off
    // from them, or too slow to answer their pings) keeps taking writes, which are lost
    // when it is made a replica; this bounds how long the connection writes there.
    // 0: before every command.
    std::chrono::milliseconds master_check_interval{1000};
  };

  // Whether a command may be sent twice. A connection Redis closed while idle (it
  // restarted) is noticed and replaced before sending either kind; after that, only a
  // kSafe command is sent again when its reply is lost, since a kUnsafe one (a script
  // that moves a job on) may have run, and running it twice would answer wrongly.
  // A READONLY reply (the server is a replica now: a failover) ran nothing, so either
  // kind is sent once more, to the master found anew. With sentinels, a server they no
  // longer name master is left before the next command (at most every
  // master_check_interval), even while it still answers as one.
  enum class Replay { kSafe, kUnsafe };

  explicit RedisConnection(Options options);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // One command in argv form; an error reply from Redis is returned as a reply, not an Error.
  Result<RedisReply> Command(std::span<const std::string_view> args, Replay replay = Replay::kSafe);
  Result<RedisReply> Command(std::initializer_list<std::string_view> args);

  // Sends all commands in one write and reads all replies, in order.
  Result<std::vector<RedisReply>> Pipeline(std::span<const std::vector<std::string_view>> commands,
                                           Replay replay = Replay::kSafe);

  Result<RedisReply> Eval(const RedisScript& script, std::span<const std::string_view> keys,
                          std::span<const std::string_view> args, Replay replay);

  // Which connection answered last: it changes each time one is opened. A WATCH holds
  // only on the connection that sent it, so its MULTI ... EXEC must go on that one.
  std::uint64_t generation() const { return generation_; }
  // For the MULTI ... EXEC of an optimistic transaction: sends `commands` once, on the
  // connection of `generation` only, never replayed. nullopt when nothing was sent
  // (that connection is gone) or the server refused the writes as a replica (a
  // failover; a refused command discards the whole MULTI, and the connection is left):
  // the caller reads again and decides again.
  Result<std::optional<std::vector<RedisReply>>> PipelineOnConnection(
      std::uint64_t generation, std::span<const std::vector<std::string_view>> commands);

  // Pub/sub: after Subscribe the connection only receives messages.
  Status Subscribe(std::string_view channel);
  // Waits up to `timeout` for the next published payload; nullopt on timeout.
  Result<std::optional<std::string>> NextMessage(std::chrono::milliseconds timeout);

  // While subscribed: sends SUBSCRIBE or UNSUBSCRIBE of one more channel without waiting
  // for its confirmation, which NextEvent reports in its turn (Redis answers in order).
  enum class Subscription { kSubscribe, kUnsubscribe };
  Status SendSubscription(Subscription what, std::string_view channel);
  struct PubSubEvent {
    // kRefused: Redis answered a (UN)SUBSCRIBE with an error (an ACL without the channel).
    enum class Kind { kMessage, kSubscribed, kUnsubscribed, kRefused, kWoken };
    Kind kind = Kind::kMessage;
    std::string channel;  // empty for kRefused and kWoken
    std::string payload;  // a message's; kRefused: Redis's error
  };
  // Waits up to `timeout` for the next message or confirmation; nullopt on timeout. With
  // sentinels, fails (kRedisUnavailable) once they name another master: subscribe again.
  // It asks them every master_check_interval during a long wait too, since a
  // subscription on a replaced master hears nothing that would end the wait.
  // `wake_fd` (when not -1), once readable, ends the wait with kWoken; the caller drains it.
  Result<std::optional<PubSubEvent>> NextEvent(std::chrono::milliseconds timeout, int wake_fd = -1);

  bool connected() const { return context_ != nullptr; }
  // The server this connection talks to now ("host:port"), or "" when not connected.
  std::string server() const;

  // At start: fails (kRedisAuthFailed, a sentence) only when Redis is reachable and
  // refuses our credentials; an unreachable Redis is left to the usual reconnects.
  Status CheckLogin();

 private:
  Status EnsureConnected();
  // Opens context_ to one server and logs in (AUTH, SELECT).
  Status Open(const std::string& host, int port, const std::string& unix_path);
  // Asks the sentinels, from the one that answered last, for the master; opens it and
  // keeps it only if ROLE says master.
  Status OpenMasterFromSentinels();
  Status Authenticate();
  // Drops the connection when Redis closed it while it sat idle.
  void DropIfClosedByPeer();
  // With sentinels, once per master_check_interval: drops the connection when the
  // sentinel asked names another master, and says whether it did. A sentinel that does
  // not answer changes nothing (the next check asks the next one).
  bool DropIfNoLongerMaster();
  void Drop();
  Result<std::vector<RedisReply>> PipelineOnce(
      std::span<const std::vector<std::string_view>> commands);

  const Options options_;
  redisContext* context_ = nullptr;
  std::string server_;
  std::uint64_t generation_ = 0;
  std::size_t first_sentinel_ = 0;
  std::chrono::steady_clock::time_point next_master_check_{};
  std::unordered_map<const RedisScript*, std::string> script_shas_;
};

}  // namespace batchq
