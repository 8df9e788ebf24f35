#include "gateway/key_authenticator.h"

namespace batchq {
namespace {

std::vector<std::shared_ptr<const KeyRecord>> Shared(std::vector<KeyRecord> keys) {
  std::vector<std::shared_ptr<const KeyRecord>> shared;
  shared.reserve(keys.size());
  for (auto& key : keys) shared.push_back(std::make_shared<const KeyRecord>(std::move(key)));
  return shared;
}

}  // namespace

KeyAuthenticator::KeyAuthenticator(Options options, Lookup lookup,
                                   std::vector<KeyRecord> static_keys)
    : options_(options),
      lookup_(std::move(lookup)),
      static_keys_(Shared(std::move(static_keys))),
      proven_(options.max_cached) {}

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
  const auto text = token ? ParseKeyTextView(*token) : std::nullopt;
  // One sentence for every bad key, so an answer never tells which part was wrong.
  const auto invalid = [] {
    return Fail(ErrorCode::kUnauthenticated,
                "The API key is not valid (unknown, revoked or expired).");
  };
  if (!text) return invalid();
  RecordPtr record;
  if (may_look_up) {
    auto found = Find(text->id, now);
    if (!found) return std::unexpected(found.error());
    record = std::move(*found);
  } else if (auto known = Known(text->id, now, nullptr)) {
    record = std::move(*known);
  } else {
    return std::nullopt;
  }
  if (!record || !SecretProven(*record, text->secret) || !IsUsable(*record, wall_now)) {
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

bool KeyAuthenticator::SecretProven(const KeyRecord& record, std::string_view secret) {
  if (proven_.Holds(record.id, secret, record.secret_sha256)) return true;
  if (!SecretMatches(secret, record.secret_sha256)) return false;
  proven_.Add(record.id, secret, record.secret_sha256);
  return true;
}

std::optional<KeyAuthenticator::RecordPtr> KeyAuthenticator::Static(std::string_view id) const {
  for (const auto& key : static_keys_) {
    if (key->id == id) return key;
  }
  return std::nullopt;
}

bool KeyAuthenticator::Fresh(const Entry& entry, Clock::time_point now) const {
  return now - entry.fetched < options_.cache_for;
}

std::optional<KeyAuthenticator::RecordPtr> KeyAuthenticator::Known(std::string_view id,
                                                                   Clock::time_point now,
                                                                   std::optional<Entry>* stale) {
  if (auto key = Static(id)) return key;
  std::lock_guard lock(mutex_);
  const auto it = cache_.find(id);
  if (it == cache_.end()) return std::nullopt;
  if (Fresh(it->second, now)) return it->second.record;
  if (stale != nullptr) *stale = it->second;
  return std::nullopt;
}

Result<KeyAuthenticator::RecordPtr> KeyAuthenticator::Find(std::string_view id,
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
  RecordPtr record;
  if (*looked_up) record = std::make_shared<const KeyRecord>(std::move(**looked_up));
  std::lock_guard lock(mutex_);
  if (cache_.size() >= options_.max_cached) cache_.clear();
  cache_.insert_or_assign(std::string(id), Entry{record, now});
  return record;
}

}  // namespace batchq
