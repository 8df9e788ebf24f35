#include "gateway/proven_secrets.h"

#include <openssl/crypto.h>

namespace batchq {
namespace {

// Constant time in the bytes' values; the sizes are not secret (a secret's is fixed).
bool SameBytes(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

bool ProvenSecrets::Holds(std::string_view id, std::string_view secret,
                          std::string_view stored_sha256_hex) const {
  std::lock_guard lock(mutex_);
  const auto it = by_id_.find(id);
  if (it == by_id_.end()) return false;
  // Only the secret comes from the caller, so only its comparison must take the same
  // time whatever the bytes; both hashes are the server's own.
  const bool same_secret = SameBytes(it->second.secret, secret);
  return same_secret && it->second.stored_sha256_hex == stored_sha256_hex;
}

void ProvenSecrets::Add(std::string_view id, std::string_view secret,
                        std::string_view stored_sha256_hex) {
  std::lock_guard lock(mutex_);
  if (by_id_.size() >= max_entries_ && !by_id_.contains(id)) by_id_.clear();
  by_id_.insert_or_assign(std::string(id),
                          Proof{std::string(secret), std::string(stored_sha256_hex)});
}

}  // namespace batchq
