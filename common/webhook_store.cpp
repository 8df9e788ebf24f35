#include "common/webhook_store.h"

#include <cstdlib>

#include <fmt/format.h>

namespace batchq {
namespace {

using Replay = RedisConnection::Replay;

std::int64_t Millis(WallMicros at) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(at).count();
}

// KEYS[1]: the due set. ARGV: now (ms), leased until (ms), limit, delivery key prefix.
const RedisScript kClaimScript{R"lua(
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
local out = {}
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], ARGV[2], id)
  local d = redis.call('HMGET', ARGV[4] .. id, 'job', 'tenant', 'tries')
  out[#out + 1] = {id, d[1] or '', d[2] or '', d[3] or '0'}
end
return out
)lua"};

// KEYS[1]: the failed set; KEYS[2]: the delivery; KEYS[3]: the due set. ARGV: now (ms),
// id. Queues a dead delivery again; 0 when it is not dead.
const RedisScript kResendScript{R"lua(
if not redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[2], 'state', 'pending', 'tries', 0)
redis.call('PERSIST', KEYS[2])
redis.call('ZADD', KEYS[3], ARGV[1], ARGV[2])
return 1
)lua"};

}  // namespace

WebhookStore::WebhookStore(RedisConnection& redis, std::string key_prefix,
                           std::chrono::seconds keep)
    : redis_(redis),
      prefix_(std::move(key_prefix)),
      due_key_(prefix_ + "webhook:due"),
      keep_(keep) {}

std::string WebhookStore::DeliveryKey(std::string_view id) const {
  return fmt::format("{}webhook:{}", prefix_, id);
}

std::string WebhookStore::FailedKey(std::string_view tenant) const {
  return fmt::format("{}webhook:failed:{}", prefix_, tenant);
}

Result<std::vector<DueDelivery>> WebhookStore::ClaimDue(WallMicros now,
                                                        std::chrono::milliseconds lease,
                                                        std::size_t limit) {
  const std::string at = std::to_string(Millis(now));
  const std::string until = std::to_string(Millis(now) + lease.count());
  const std::string count = std::to_string(limit);
  const std::string deliveries = prefix_ + "webhook:";
  const std::string_view keys[] = {due_key_};
  const std::string_view args[] = {at, until, count, deliveries};
  auto reply = redis_.Eval(kClaimScript, keys, args, Replay::kUnsafe);
  if (!reply) return std::unexpected(reply.error());
  if (reply->kind != RedisReply::Kind::kArray)
    return std::unexpected(UnexpectedReply("a claim", *reply));
  std::vector<DueDelivery> due;
  for (auto& entry : reply->elements) {
    if (entry.elements.size() != 4) return std::unexpected(UnexpectedReply("a claim", entry));
    due.push_back(DueDelivery{std::move(entry.elements[0].str), std::move(entry.elements[1].str),
                              std::move(entry.elements[2].str),
                              static_cast<std::uint32_t>(std::stoul(entry.elements[3].str))});
  }
  return due;
}

Status WebhookStore::MarkDelivered(const DueDelivery& delivery, WallMicros now) {
  const std::string key = DeliveryKey(delivery.id);
  const std::string tries = std::to_string(delivery.tries + 1);
  const std::string at = std::to_string(now.count());
  const std::string keep = std::to_string(keep_.count());
  const std::vector<std::vector<std::string_view>> commands = {
      {"HSET", key, "state", "delivered", "tries", tries, "updated_us", at},
      {"EXPIRE", key, keep},
      {"ZREM", due_key_, delivery.id}};
  auto replies = redis_.Pipeline(commands);
  if (!replies) return std::unexpected(replies.error());
  return Ok();
}

Status WebhookStore::RetryLater(const DueDelivery& delivery, std::uint32_t tries,
                                std::string_view error, WallMicros at) {
  const std::string key = DeliveryKey(delivery.id);
  const std::string count = std::to_string(tries);
  const std::string when = std::to_string(Millis(at));
  const std::vector<std::vector<std::string_view>> commands = {
      {"HSET", key, "tries", count, "last_error", error}, {"ZADD", due_key_, when, delivery.id}};
  auto replies = redis_.Pipeline(commands);
  if (!replies) return std::unexpected(replies.error());
  return Ok();
}

Status WebhookStore::MarkFailed(const DueDelivery& delivery, std::uint32_t tries,
                                std::string_view error, WallMicros now) {
  const std::string key = DeliveryKey(delivery.id);
  const std::string count = std::to_string(tries);
  const std::string at = std::to_string(now.count());
  const std::string ms = std::to_string(Millis(now));
  const std::string failed = FailedKey(delivery.tenant);
  const std::string keep = std::to_string(keep_.count());
  // Entries older than `keep` name hashes that expired: dropped as new ones come.
  const std::string expired = fmt::format(
      "({}", Millis(now) - std::chrono::duration_cast<std::chrono::milliseconds>(keep_).count());
  const std::vector<std::vector<std::string_view>> commands = {
      {"HSET", key, "state", "failed", "tries", count, "last_error", error, "updated_us", at},
      {"EXPIRE", key, keep},
      {"ZREM", due_key_, delivery.id},
      {"ZADD", failed, ms, delivery.id},
      {"ZREMRANGEBYSCORE", failed, "-inf", expired}};
  auto replies = redis_.Pipeline(commands);
  if (!replies) return std::unexpected(replies.error());
  return Ok();
}

Result<std::vector<DeliveryView>> WebhookStore::Failed(std::string_view tenant, std::size_t limit) {
  const std::string key = FailedKey(tenant);
  const std::string count = std::to_string(limit);
  auto reply = redis_.Command({"ZREVRANGEBYSCORE", key, "+inf", "-inf", "LIMIT", "0", count});
  if (!reply) return std::unexpected(reply.error());
  if (reply->kind != RedisReply::Kind::kArray)
    return std::unexpected(UnexpectedReply("a list", *reply));
  std::vector<std::string> keys;
  std::vector<std::vector<std::string_view>> reads;
  for (const auto& element : reply->elements) keys.push_back(DeliveryKey(element.str));
  for (const auto& k : keys) {
    reads.push_back(
        {"HMGET", k, "job", "state", "tries", "last_error", "created_us", "updated_us"});
  }
  auto fields = redis_.Pipeline(reads);
  if (!fields) return std::unexpected(fields.error());
  std::vector<DeliveryView> views;
  for (std::size_t i = 0; i < fields->size(); ++i) {
    const auto& f = (*fields)[i].elements;
    if (f.size() != 6 || f[0].kind != RedisReply::Kind::kString) continue;  // expired
    auto number = [](const RedisReply& r) {
      return r.kind == RedisReply::Kind::kString ? std::strtoll(r.str.c_str(), nullptr, 10) : 0;
    };
    views.push_back(DeliveryView{reply->elements[i].str, f[0].str, f[1].str,
                                 static_cast<std::uint32_t>(number(f[2])), f[3].str, number(f[4]),
                                 number(f[5])});
  }
  return views;
}

Result<bool> WebhookStore::Resend(std::string_view tenant, std::string_view id, WallMicros now) {
  const std::string failed = FailedKey(tenant);
  const std::string key = DeliveryKey(id);
  const std::string at = std::to_string(Millis(now));
  const std::string_view keys[] = {failed, key, due_key_};
  const std::string_view args[] = {at, id};
  auto reply = redis_.Eval(kResendScript, keys, args, Replay::kUnsafe);
  if (!reply) return std::unexpected(reply.error());
  return reply->integer == 1;
}

}  // namespace batchq
