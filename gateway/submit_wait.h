#pragma once
// How long POST /v1/jobs may hold its answer for the job to end, so that a client gets
// the finished job in one round trip: `?wait_ms=N`, or the RFC 7240 preference
// `Prefer: wait=N` (seconds, as that RFC defines it). Pure.

#include <chrono>
#include <string_view>

#include "common/error.h"

namespace batchq {

// The wait asked for, capped at `max`; 0 when none was. A malformed `wait_ms` is an
// invalid_request; a Prefer header without a usable `wait` is ignored, as RFC 7240 asks
// of preferences a server cannot honour. `wait_ms` wins when both are sent.
Result<std::chrono::milliseconds> SubmitWait(std::string_view query, std::string_view prefer,
                                             std::chrono::milliseconds max);

}  // namespace batchq
