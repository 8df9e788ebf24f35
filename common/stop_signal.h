#pragma once
// SIGINT/SIGTERM handling for the process mains: the handler only sets a flag that
// event loops poll. Call InstallStopSignals() once, before starting threads.

#include <atomic>

namespace batchq {

const std::atomic<bool>& InstallStopSignals();

}  // namespace batchq
