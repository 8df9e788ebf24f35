#pragma once
// What the broker checks in a job a gateway sends before queueing it, as if the gateway
// could be wrong (a bug, or a peer holding a gateway's key): an id of the shape the
// gateway makes, a type name, bounded priority, timeout and tenant weight, and an input
// no bigger than a request body may be. Pure: no sockets, no Redis.

#include "common/error.h"
#include "common/wire.h"

namespace batchq {

// Ok, or invalid_request with a sentence naming the field.
Status CheckSubmittedJob(const wire::SubmitJob& job);

}  // namespace batchq
