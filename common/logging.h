#pragma once

#include <string_view>

namespace batchq {

// Configures the default spdlog logger for a process: `level` is one of
// trace|debug|info|warn|error; `json` switches to one JSON object per line.
// Call once from main() before any thread starts.
void SetUpLogging(std::string_view process, std::string_view level, bool json);

}  // namespace batchq
