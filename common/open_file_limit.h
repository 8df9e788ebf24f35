#pragma once
// The process's limit on open files (RLIMIT_NOFILE), which bounds how many connections
// a server can hold: many systems start processes with a soft limit of 1024 and a hard
// one far above it.

#include <cstdint>

namespace batchq {

// Raises the soft limit to the hard one and answers the soft limit now in force.
std::uint64_t RaiseOpenFileLimit();

}  // namespace batchq
