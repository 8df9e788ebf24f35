#pragma once
// Names the calling thread as `top -H`, `perf` and /proc/PID/task/*/comm show it, so an
// operator can tell a process's threads apart (Linux keeps the first 15 bytes).

#include <string>

namespace batchq {

void NameThisThread(const std::string& name);

}  // namespace batchq
