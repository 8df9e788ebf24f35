#include "gateway/key_authenticator.h"

namespace batchq {

KeyAuthenticator::KeyAuthenticator(Options options, Lookup lookup,
                                   std::vector<KeyRecord> static_keys)
    : options_(options), lookup_(std::move(lookup)), static_keys_(std::move(static_keys)) {}

Result<Caller> KeyAuthenticator::Authenticate(std::string_view authorization, Clock::time_point now,
                                              WallMicros wall_now) {
  if (authorization.empty()) {
    return Fail(ErrorCode::kUnauthenticated, "This route needs Authorization: Bearer <key>.");
  }
  const auto token = BearerToken(authorization);
  const auto text = token ? ParseKeyText(*token) : std::nullopt;
  // One sentence for every bad key, so an answer never tells which part was wrong.
  const auto invalid = [] {
    return Fail(ErrorCode::kUnauthenticated,
                "The API key is not valid (unknown, revoked or expired).");
  };
  if (!text) return invalid();
  auto found = Find(text->id, now);
  if (!found) return std::unexpected(found.error());
  const auto& record = *found;
  if (!record || !SecretMatches(text->secret, record->secret_sha256) ||
      !IsUsable(*record, wall_now)) {
    return invalid();
  }
  return Caller{record->id,
                record->tenant,
                record->scopes,
                record->max_queued,
                record->max_stored_bytes,
                record->weight,
                record->rate_per_s,
                record->burst,
                !record->webhook_secret.empty()};
}

bool KeyAuthenticator::NeedsLookup(std::string_view authorization, Clock::time_point now) {
  const auto token = BearerToken(authorization);
  const auto text = token ? ParseKeyText(*token) : std::nullopt;
  if (!text || Static(text->id)) return false;
  std::lock_guard lock(mutex_);
  const auto it = cache_.find(text->id);
  return it == cache_.end() || !Fresh(it->second, now);
}

const KeyRecord* KeyAuthenticator::Static(std::string_view id) const {
  for (const auto& key : static_keys_) {
    if (key.id == id) return &key;
  }
  return nullptr;
}

bool KeyAuthenticator::Fresh(const Entry& entry, Clock::time_point now) const {
  return now - entry.fetched < options_.cache_for;
}

Result<std::optional<KeyRecord>> KeyAuthenticator::Find(const std::string& id,
                                                        Clock::time_point now) {
  if (const KeyRecord* key = Static(id)) return std::optional<KeyRecord>(*key);
  std::optional<Entry> stale;
  {
    std::lock_guard lock(mutex_);
    if (const auto it = cache_.find(id); it != cache_.end()) {
      if (Fresh(it->second, now)) return it->second.record;
      stale = it->second;
    }
  }
  // Looked up without the lock: Redis may take its command timeout.
  auto looked_up = lookup_(id);
  if (!looked_up) {
    if (stale) return stale->record;
    return Fail(ErrorCode::kRedisUnavailable,
                "API keys cannot be checked: Redis is not reachable.");
  }
  std::lock_guard lock(mutex_);
  if (cache_.size() >= options_.max_cached) cache_.clear();
  cache_[id] = Entry{*looked_up, now};
  return *looked_up;
}

}  // namespace batchq
