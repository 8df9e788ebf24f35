#include "broker/broker_lease.h"

#include <unistd.h>

#include <fmt/format.h>

#include "common/job_id.h"

namespace batchq {
namespace {

using Replay = RedisConnection::Replay;

// KEYS: lease, epoch counter. ARGV: holder, lease ms. A new epoch, or 0 when another
// holder's lease is alive. An epoch is at least Redis's clock in milliseconds, so that
// epochs keep rising even when Redis lost the counter (restarted without persistence,
// or a replica promoted before it had it): a deposed broker's epoch is never drawn again.
const RedisScript kTakeScript{R"lua(
local current = redis.call('GET', KEYS[1])
if current then
  local space = string.find(current, ' ', 1, true)
  if not space or string.sub(current, space + 1) ~= ARGV[1] then return 0 end
end
local time = redis.call('TIME')
local now_ms = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local epoch = math.max(tonumber(redis.call('GET', KEYS[2]) or '0') + 1, now_ms)
local text = string.format('%d', epoch)
redis.call('SET', KEYS[2], text)
redis.call('SET', KEYS[1], text .. ' ' .. ARGV[1], 'PX', ARGV[2])
return epoch
)lua"};

// KEYS: lease. ARGV: "<epoch> <holder>", lease ms. 1 when renewed.
const RedisScript kRenewScript{R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
)lua"};

// KEYS: lease. ARGV: "<epoch> <holder>". 1 when released.
const RedisScript kReleaseScript{R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
)lua"};

Error Unexpected(std::string_view call, const RedisReply& reply) {
  return Error{ErrorCode::kRedisUnavailable,
               fmt::format("Redis answered the lease {} with something unexpected: {}", call,
                           reply.is_error() ? reply.str : "not an integer")};
}

}  // namespace

BrokerLease::BrokerLease(RedisConnection& redis, std::string key_prefix, std::string holder,
                         std::chrono::milliseconds lease)
    : redis_(redis),
      lease_key_(key_prefix + "broker:lease"),
      epoch_key_(key_prefix + "broker:epoch"),
      holder_(std::move(holder)),
      lease_ms_(std::to_string(lease.count())) {}

Result<std::uint64_t> BrokerLease::Take() {
  const std::string_view keys[] = {lease_key_, epoch_key_};
  const std::string_view args[] = {holder_, lease_ms_};
  // Sent twice, it draws one more epoch and still holds the lease: no harm.
  auto reply = redis_.Eval(kTakeScript, keys, args, Replay::kSafe);
  if (!reply) return std::unexpected(reply.error());
  if (reply->kind != RedisReply::Kind::kInteger) {
    return std::unexpected(Unexpected("take", *reply));
  }
  return static_cast<std::uint64_t>(reply->integer);
}

Result<bool> BrokerLease::Renew(std::uint64_t epoch) {
  const std::string value = fmt::format("{} {}", epoch, holder_);
  const std::string_view keys[] = {lease_key_};
  const std::string_view args[] = {value, lease_ms_};
  auto reply = redis_.Eval(kRenewScript, keys, args, Replay::kSafe);
  if (!reply) return std::unexpected(reply.error());
  if (reply->kind != RedisReply::Kind::kInteger) {
    return std::unexpected(Unexpected("renewal", *reply));
  }
  return reply->integer == 1;
}

Status BrokerLease::Release(std::uint64_t epoch) {
  const std::string value = fmt::format("{} {}", epoch, holder_);
  const std::string_view keys[] = {lease_key_};
  const std::string_view args[] = {value};
  auto reply = redis_.Eval(kReleaseScript, keys, args, Replay::kSafe);
  if (!reply) return std::unexpected(reply.error());
  return {};
}

std::string NewLeaseHolder() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return fmt::format("{}/{}/{}", host[0] != '\0' ? host : "broker", getpid(),
                     NewJobId().substr(0, 8));
}

}  // namespace batchq
