#pragma once
// `batchq keygen PREFIX`: a CURVE key pair for a broker, gateway or worker, made on the
// machine that will use it, so the secret never travels.

#include <string>

namespace batchq::cli {

// Writes PREFIX.key (0600) and PREFIX.pub, never over existing files; prints the
// public key on stdout. Returns an exit code.
int Keygen(const std::string& prefix);

}  // namespace batchq::cli
