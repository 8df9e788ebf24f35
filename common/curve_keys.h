#pragma once
// CURVE key pairs for ZeroMQ (libzmq's curve25519 via libsodium), kept as Z85 text: 40
// characters per key. A key pair lives in two files, NAME.key (the secret, mode 0600)
// and NAME.pub (the public key, given to whoever must recognise this peer). Loading
// refuses a secret file that others may read, as ssh does.

#include <string>
#include <string_view>

#include "common/error.h"

namespace batchq {

struct CurveKeyPair {
  std::string public_key;  // Z85, 40 characters
  std::string secret_key;  // Z85, 40 characters
};

// True when `text` is 40 characters of Z85 that decode to 32 bytes.
bool IsCurveKeyText(std::string_view text);

// A fresh key pair from libzmq's CSPRNG; throws when libzmq was built without CURVE
// (a start-up failure: no key can be made).
CurveKeyPair NewCurveKeyPair();

// The secret key in `path` (Z85, surrounding whitespace ignored) with its public key
// derived from it. Fails when the file is missing, unreadable, readable by group or
// others, or holds something other than one Z85 key.
Result<CurveKeyPair> LoadCurveSecretFile(const std::string& path);

// The public key in `path` (Z85, surrounding whitespace ignored).
Result<std::string> LoadCurvePublicFile(const std::string& path);

// Writes PREFIX.key (0600, created exclusively: an existing pair is never overwritten)
// and PREFIX.pub (0644).
Status WriteCurveKeyPair(const std::string& prefix, const CurveKeyPair& pair);

}  // namespace batchq
