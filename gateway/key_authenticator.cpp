#include "gateway/key_authenticator.h"

namespace batchq {

KeyAuthenticator::KeyAuthenticator(Options options, Lookup lookup,
                                   std::vector<KeyRecord> static_keys)
    : options_(options), lookup_(std::move(lookup)), static_keys_(std::move(static_keys)) {}

Result<Caller> KeyAuthenticator::Authenticate(std::string_view authorization, Clock::time_point now,
                                              WallMicros wall_now) {
  return *Check(authorization, now, wall_now, /*may_look_up=*/true);
}

std::optional<Result<Caller>> KeyAuthenticator::AuthenticateCached(std::string_view authorization,
                                                                   Clock::time_point now,
                                                                   WallMicros wall_now) {
  return Check(authorization, now, wall_now, /*may_look_up=*/false);
}

std::optional<Result<Caller>> KeyAuthenticator::Check(std::string_view authorization,
                                                      Clock::time_point now, WallMicros wall_now,
                                                      bool may_look_up) {
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
  Result<std::optional<KeyRecord>> found;
  if (may_look_up) {
    found = Find(text->id, now);
  } else if (auto known = Known(text->id, now, nullptr)) {
    found = std::move(*known);
  } else {
    return std::nullopt;
  }
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

const KeyRecord* KeyAuthenticator::Static(std::string_view id) const {
  for (const auto& key : static_keys_) {
    if (key.id == id) return &key;
  }
  return nullptr;
}

bool KeyAuthenticator::Fresh(const Entry& entry, Clock::time_point now) const {
  return now - entry.fetched < options_.cache_for;
}

std::optional<std::optional<KeyRecord>> KeyAuthenticator::Known(const std::string& id,
                                                                Clock::time_point now,
                                                                std::optional<Entry>* stale) {
  if (const KeyRecord* key = Static(id)) {
    return std::optional<std::optional<KeyRecord>>(std::in_place, *key);
  }
  std::lock_guard lock(mutex_);
  const auto it = cache_.find(id);
  if (it == cache_.end()) return std::nullopt;
  if (Fresh(it->second, now)) {
    return std::optional<std::optional<KeyRecord>>(std::in_place, it->second.record);
  }
  if (stale != nullptr) *stale = it->second;
  return std::nullopt;
}

Result<std::optional<KeyRecord>> KeyAuthenticator::Find(const std::string& id,
                                                        Clock::time_point now) {
  std::optional<Entry> stale;
  if (auto known = Known(id, now, &stale)) return std::move(*known);
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
