#pragma once
// The text/event-stream format (WHATWG HTML, "Server-sent events"). Pure.

#include <chrono>
#include <string>
#include <string_view>

namespace batchq {

// One event: "id:", "event:" (each left out when empty) and "data:" lines, one per line of
// `data`, then a blank line. Ids and names must not hold line breaks (they are ours).
std::string FormatServerSentEvent(std::string_view id, std::string_view name,
                                  std::string_view data);
// A comment line, which clients ignore: a heartbeat that keeps proxies from closing a
// quiet stream.
std::string FormatServerSentComment(std::string_view text);
// The "retry:" field: how long a client waits before it reconnects.
std::string FormatServerSentRetry(std::chrono::milliseconds delay);

}  // namespace batchq
