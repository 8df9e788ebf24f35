#pragma once
// Turns an Authorization header into a Caller, or into unauthenticated. Key records
// are looked up by id (through `Lookup`, Redis in the gateway) and kept for at most
// `cache_for`, so a revoked or changed key stops working on every gateway within
// that time; unknown ids are cached too, in a bounded table. When a lookup fails
// (Redis is down), a record seen before is used as last known, otherwise the request
// is refused as unavailable. Static keys (the bootstrap admin key from a file) are
// known without Redis. A secret is hashed once per key (`ProvenSecrets`); later
// requests compare it in constant time. Time is an argument. Thread-safe.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/api_key.h"
#include "common/error.h"
#include "common/string_view_hash.h"
#include "gateway/caller.h"
#include "gateway/proven_secrets.h"

namespace batchq {

class KeyAuthenticator {
 public:
  using Clock = std::chrono::steady_clock;
  using Lookup = std::function<Result<std::optional<KeyRecord>>(std::string_view id)>;
  struct Options {
    std::chrono::milliseconds cache_for{500};
    std::size_t max_cached = 10000;  // entries; the table is emptied when it grows past
  };

  KeyAuthenticator(Options options, Lookup lookup, std::vector<KeyRecord> static_keys);

  // The caller the header's key stands for. Errors: unauthenticated (no bearer key,
  // unknown, revoked, expired or wrong secret), redis_unavailable (cannot check).
  Result<Caller> Authenticate(std::string_view authorization, Clock::time_point now,
                              WallMicros wall_now);
  // Authenticate's answer when it needs no lookup (through `Lookup`, which may block on
  // Redis) at `now`; nullopt when it would look the key up: a well-formed key that is
  // not static and whose record is not cached, or cached for `cache_for` or longer. The
  // gateway answers from here on its I/O threads and runs the rest off them, so each
  // request's key is parsed and found once.
  std::optional<Result<Caller>> AuthenticateCached(std::string_view authorization,
                                                   Clock::time_point now, WallMicros wall_now);

 private:
  // Shared, not copied, by the requests that read it; null for an unknown id.
  using RecordPtr = std::shared_ptr<const KeyRecord>;
  struct Entry {
    RecordPtr record;
    Clock::time_point fetched{};
  };
  // Authenticate with lookups allowed, or AuthenticateCached without.
  std::optional<Result<Caller>> Check(std::string_view authorization, Clock::time_point now,
                                      WallMicros wall_now, bool may_look_up);
  // The record if it is static or freshly cached, else nullopt (an unknown id is a
  // cached null record). `stale` gets a cached entry that is too old.
  std::optional<RecordPtr> Known(std::string_view id, Clock::time_point now,
                                 std::optional<Entry>* stale);
  Result<RecordPtr> Find(std::string_view id, Clock::time_point now);
  // Whether `secret` hashes to the record's stored hash, proven now or before.
  bool SecretProven(const KeyRecord& record, std::string_view secret);
  // The static key of that id, or nullopt.
  std::optional<RecordPtr> Static(std::string_view id) const;
  bool Fresh(const Entry& entry, Clock::time_point now) const;

  const Options options_;
  const Lookup lookup_;
  const std::vector<RecordPtr> static_keys_;
  ProvenSecrets proven_;
  std::mutex mutex_;  // guards cache_
  std::unordered_map<std::string, Entry, StringViewHash, std::equal_to<>> cache_;
};

}  // namespace batchq
