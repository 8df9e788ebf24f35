#pragma once
// The job lifecycle of DESIGN.md: queued -> running -> succeeded | failed;
// queued -> cancelled | expired; running -> queued again when its worker is lost, or
// after a retryable failure with retries left; failed | expired | cancelled -> queued
// again by POST /v1/jobs/{id}:retry.

#include <optional>
#include <string_view>

namespace batchq {

enum class JobStatus { kQueued, kRunning, kSucceeded, kFailed, kCancelled, kExpired };

std::string_view ToString(JobStatus status);
std::optional<JobStatus> ParseJobStatus(std::string_view text);
bool IsTerminal(JobStatus status);

}  // namespace batchq
