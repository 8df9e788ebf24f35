#pragma once
// Bytes as lower-case hex, and random hex from OpenSSL's generator (for key ids and
// secrets). Thread-safe.

#include <cstddef>
#include <string>

namespace batchq {

std::string Hex(const unsigned char* data, std::size_t size);
// `bytes` random bytes (at most 64) as hex; throws when the generator fails (a start-up
// or bug condition: the system has no entropy source).
std::string RandomHex(std::size_t bytes);

}  // namespace batchq
