#pragma once
// A directory of CURVE public keys (one NAME.pub file per peer, as `batchq keygen`
// writes), read into an allow-list, and a cheap fingerprint of it so a caller can
// reload only when a file was added, removed or changed. Files that do not hold a key
// are skipped with a warning, never fatal: one bad file must not lock every peer out.

#include <string>

#include "broker/peer_allow_list.h"
#include "common/error.h"

namespace batchq {

// Names, sizes and modification times of the *.pub files, in name order.
Result<std::string> KeyDirectoryFingerprint(const std::string& dir);

// Every valid key in the directory's *.pub files.
Result<AllowedKeys> ReadKeyDirectory(const std::string& dir);

}  // namespace batchq
