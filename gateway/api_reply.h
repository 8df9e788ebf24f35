#pragma once
// The HTTP answers every handler builds: JSON bodies, and errors whose status comes
// from the one error table (common/error_code.h). Pure.

#include <chrono>
#include <string>
#include <string_view>

#include "common/error.h"
#include "common/http_types.h"

namespace batchq {

// What a 503 tells the client to wait before trying again.
inline constexpr std::chrono::seconds kUnavailableRetryAfter{1};

HttpReply JsonReply(int status, std::string body);
// {"error":{"code","message"}} with the code's HTTP status.
HttpReply ErrorReply(ErrorCode code, std::string_view message);
HttpReply ErrorReply(ErrorCode code);
HttpReply ErrorReply(const Error& error);
// The error's answer plus Retry-After: kUnavailableRetryAfter (Redis or broker down).
HttpReply Unavailable(const Error& error);
// Adds Retry-After in whole seconds, rounded up.
void AddRetryAfter(HttpReply& reply, std::chrono::milliseconds after);

}  // namespace batchq
