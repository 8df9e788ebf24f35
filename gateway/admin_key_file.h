#pragma once
// The bootstrap admin key: a key kept in a file (mode 0600) that the gateway knows
// without Redis, so a fresh deployment has one key that can make all the others.
// On first start the file does not exist and a new key is written to it; later starts
// (and other gateways sharing the file) read the same key. Rotating it means writing
// a new key to the file and restarting the gateways (docs/SECURITY.md).

#include <string>

#include "common/api_key.h"

namespace batchq {

// The tenant the bootstrap key belongs to.
inline constexpr const char* kAdminTenant = "admin";

// Reads the key in `path`, or creates the file with a new key when it does not exist.
// Throws std::runtime_error with a sentence when the file cannot be made or holds no
// key (start-up failures).
KeyRecord LoadOrCreateAdminKey(const std::string& path);

}  // namespace batchq
