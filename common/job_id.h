#pragma once

#include <string>

namespace batchq {

// A random 128-bit identifier as 32 lowercase hex characters. Thread-safe.
std::string NewJobId();

// True when `text` has the shape NewJobId() produces; guards Redis key building.
bool LooksLikeJobId(std::string_view text);

}  // namespace batchq
