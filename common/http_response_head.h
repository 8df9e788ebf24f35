#pragma once
// The status line and header fields of a whole (not streamed) HTTP reply, written by
// hand into one string: the bytes Beast's serializer writes for an
// http::response<string_body> given, in this order, set(Server, "batchq"),
// set(Content-Type), set() of each of the reply's headers, keep_alive() and
// prepare_payload(), so "Content-Length" always, and "Connection" where the version
// needs it said. Beast builds that message field by field (an allocation each) and
// serializes it through a dozen buffers; on the gateway's hot path that was about a
// tenth of its own code's time (docs/BENCHMARKS.md). Streamed replies still go through
// Beast. Pure; no I/O.

#include <string>

#include "common/http_types.h"

namespace batchq {

// Appends the head (up to and including the blank line) to `out`. `version` is the
// request's (10 or 11); `keep_alive` whether the connection stays open after the
// reply. `reply.headers` must not name Server, Content-Type, Content-Length or
// Connection, which this writes, and a name or value holding CR or LF is left out.
void AppendResponseHead(std::string& out, const HttpReply& reply, unsigned version,
                        bool keep_alive);

// Whether a reply of this status may carry a body (RFC 9110: not a 1xx, 204 or 304).
// The head still says "Content-Length: 0" for those, as Beast's did.
bool BodyAllowed(int status);

}  // namespace batchq
