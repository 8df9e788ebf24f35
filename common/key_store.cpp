#include "common/key_store.h"

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

#include "common/parse_number.h"

namespace batchq {
namespace {

KeyRecord FromFields(std::string_view id, const std::vector<RedisReply>& fields) {
  KeyRecord key;
  key.id = std::string(id);
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
    const std::string_view name = fields[i].str;
    const std::string& value = fields[i + 1].str;
    if (name == "tenant") key.tenant = value;
    if (name == "scopes") key.scopes = ParseScopes(value).value_or(0);
    if (name == "secret_sha256") key.secret_sha256 = value;
    if (name == "rate") key.rate_per_s = std::strtod(value.c_str(), nullptr);
    if (name == "burst") key.burst = ParseNumberOrZero<std::uint32_t>(value);
    if (name == "max_queued") key.max_queued = ParseNumberOrZero<std::uint64_t>(value);
    if (name == "max_stored_bytes") {
      key.max_stored_bytes = ParseNumberOrZero<std::uint64_t>(value);
    }
    if (name == "weight")
      key.weight = std::max<std::uint32_t>(1, ParseNumberOrZero<std::uint32_t>(value));
    if (name == "created_us") key.created = WallMicros(ParseNumberOrZero<std::int64_t>(value));
    if (name == "expires_us") key.expires = WallMicros(ParseNumberOrZero<std::int64_t>(value));
    if (name == "revoked") key.revoked = value == "1";
    if (name == "webhook_secret") key.webhook_secret = value;
  }
  return key;
}

}  // namespace

KeyStore::KeyStore(RedisConnection& redis, std::string key_prefix)
    : redis_(redis), prefix_(std::move(key_prefix)), index_key_(prefix_ + "apikeys") {}

std::string KeyStore::RecordKey(std::string_view id) const {
  return fmt::format("{}apikey:{}", prefix_, id);
}

Status KeyStore::Put(const KeyRecord& key) {
  const std::string record_key = RecordKey(key.id);
  const std::string scopes = ScopesText(key.scopes);
  const std::string rate = fmt::format("{}", key.rate_per_s);
  const std::string burst = std::to_string(key.burst);
  const std::string max_queued = std::to_string(key.max_queued);
  const std::string max_stored_bytes = std::to_string(key.max_stored_bytes);
  const std::string weight = std::to_string(key.weight);
  const std::string created = std::to_string(key.created.count());
  const std::string expires = std::to_string(key.expires.count());
  const std::vector<std::vector<std::string_view>> commands = {
      {"MULTI"},
      {"HSET",
       record_key,
       "tenant",
       key.tenant,
       "scopes",
       scopes,
       "secret_sha256",
       key.secret_sha256,
       "rate",
       rate,
       "burst",
       burst,
       "max_queued",
       max_queued,
       "max_stored_bytes",
       max_stored_bytes,
       "weight",
       weight,
       "created_us",
       created,
       "expires_us",
       expires,
       "revoked",
       key.revoked ? "1" : "0",
       "webhook_secret",
       key.webhook_secret},
      {"SADD", index_key_, key.id},
      {"EXEC"},
  };
  auto replies = redis_.Pipeline(commands);
  if (!replies) return std::unexpected(replies.error());
  if (replies->back().kind != RedisReply::Kind::kArray)
    return std::unexpected(UnexpectedReply("EXEC", replies->back()));
  return Ok();
}

Result<std::optional<KeyRecord>> KeyStore::Get(std::string_view id) {
  auto reply = redis_.Command({"HGETALL", RecordKey(id)});
  if (!reply) return std::unexpected(reply.error());
  if (reply->kind != RedisReply::Kind::kArray)
    return std::unexpected(UnexpectedReply("HGETALL", *reply));
  if (reply->elements.empty()) return std::optional<KeyRecord>();
  return std::optional<KeyRecord>(FromFields(id, reply->elements));
}

Result<std::vector<KeyRecord>> KeyStore::List() {
  auto ids = redis_.Command({"SMEMBERS", index_key_});
  if (!ids) return std::unexpected(ids.error());
  if (ids->kind != RedisReply::Kind::kArray)
    return std::unexpected(UnexpectedReply("SMEMBERS", *ids));
  std::vector<std::string> keys;
  std::vector<std::vector<std::string_view>> commands;
  keys.reserve(ids->elements.size());
  for (const auto& id : ids->elements) keys.push_back(RecordKey(id.str));
  for (const auto& key : keys) commands.push_back({"HGETALL", key});
  std::vector<KeyRecord> records;
  if (commands.empty()) return records;
  auto replies = redis_.Pipeline(commands);
  if (!replies) return std::unexpected(replies.error());
  for (std::size_t i = 0; i < replies->size(); ++i) {
    const RedisReply& reply = (*replies)[i];
    if (reply.kind != RedisReply::Kind::kArray || reply.elements.empty()) continue;
    records.push_back(FromFields(ids->elements[i].str, reply.elements));
  }
  std::sort(records.begin(), records.end(), [](const KeyRecord& a, const KeyRecord& b) {
    return a.created != b.created ? a.created < b.created : a.id < b.id;
  });
  return records;
}

Result<bool> KeyStore::Revoke(std::string_view id) {
  const std::string key = RecordKey(id);
  // HSET only on an existing record: a revoke never creates a half key.
  static const RedisScript kRevoke{
      "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end "
      "redis.call('HSET', KEYS[1], 'revoked', '1') return 1"};
  const std::vector<std::string_view> keys = {key};
  auto reply = redis_.Eval(kRevoke, keys, {}, RedisConnection::Replay::kSafe);
  if (!reply) return std::unexpected(reply.error());
  return reply->kind == RedisReply::Kind::kInteger && reply->integer == 1;
}

}  // namespace batchq
