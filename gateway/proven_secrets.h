#pragma once
// The secrets already proven to hash to their key's stored SHA-256, one per key id, so
// that a key's later requests are checked by a constant-time comparison of the secret
// instead of hashing it again (SHA-256 of the secret was 6.6% of the gateway's
// instructions per job; docs/BENCHMARKS.md). A proven secret counts only together with
// the stored hash it was proven against: a key whose stored hash changes is hashed
// again. Holds secrets in memory, as the requests that carry them do; never the
// secret of a failed check. Bounded: emptied when it would grow past `max_entries`.
// Thread-safe.

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/string_view_hash.h"

namespace batchq {

class ProvenSecrets {
 public:
  explicit ProvenSecrets(std::size_t max_entries) : max_entries_(max_entries) {}

  // True when `secret` was proven for key `id` against this same `stored_sha256_hex`.
  // Compares the secret in constant time.
  bool Holds(std::string_view id, std::string_view secret,
             std::string_view stored_sha256_hex) const;
  // Records that `secret` hashes to `stored_sha256_hex`: call it only after checking so.
  void Add(std::string_view id, std::string_view secret, std::string_view stored_sha256_hex);

 private:
  struct Proof {
    std::string secret;
    std::string stored_sha256_hex;
  };
  const std::size_t max_entries_;
  mutable std::mutex mutex_;  // guards by_id_
  std::unordered_map<std::string, Proof, StringViewHash, std::equal_to<>> by_id_;
};

}  // namespace batchq
