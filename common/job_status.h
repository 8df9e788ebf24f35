#pragma once
// The job lifecycle of DESIGN.md: queued -> running -> succeeded | failed;
// queued -> cancelled | expired; running -> queued again when its worker is lost.

#include <optional>
#include <string_view>

namespace batchq {

enum class JobStatus { kQueued, kRunning, kSucceeded, kFailed, kCancelled, kExpired };

std::string_view ToString(JobStatus status);
std::optional<JobStatus> ParseJobStatus(std::string_view text);
bool IsTerminal(JobStatus status);

}  // namespace batchq
