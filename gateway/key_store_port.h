#pragma once
// What the gateway needs of the API key store, as an interface so the key routes and
// the authenticator can be unit-tested against an in-memory fake. Implementations must
// be callable from any I/O thread at once. The methods mean what KeyStore's do
// (common/key_store.h).

#include <optional>
#include <string_view>
#include <vector>

#include "common/api_key.h"
#include "common/error.h"

namespace batchq {

class KeyStorePort {
 public:
  virtual ~KeyStorePort() = default;
  virtual Status PutKey(const KeyRecord& key) = 0;
  virtual Result<std::optional<KeyRecord>> GetKey(std::string_view id) = 0;
  virtual Result<std::vector<KeyRecord>> ListKeys() = 0;
  virtual Result<bool> RevokeKey(std::string_view id) = 0;
};

}  // namespace batchq
