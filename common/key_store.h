#pragma once
// API key records in Redis (never a key's secret, only its SHA-256):
//   {prefix}apikey:{id}  hash: tenant, scopes, secret_sha256, rate, burst, max_queued,
//                        weight, created_us, expires_us, revoked
//   {prefix}apikeys      set of every key id, for listing
// A revoked key keeps its record (who had it, when), with revoked = 1.
// Not thread-safe: one KeyStore per RedisConnection per thread.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/api_key.h"
#include "common/error.h"
#include "common/redis_connection.h"

namespace batchq {

class KeyStore {
 public:
  // `redis` must outlive the store.
  KeyStore(RedisConnection& redis, std::string key_prefix);

  // Creates or replaces the record of `key.id`.
  Status Put(const KeyRecord& key);
  Result<std::optional<KeyRecord>> Get(std::string_view id);
  // Every key, revoked ones included, ordered by creation.
  Result<std::vector<KeyRecord>> List();
  // Marks the key revoked; false when there is no such key.
  Result<bool> Revoke(std::string_view id);

 private:
  std::string RecordKey(std::string_view id) const;

  RedisConnection& redis_;
  const std::string prefix_;
  const std::string index_key_;
};

}  // namespace batchq
