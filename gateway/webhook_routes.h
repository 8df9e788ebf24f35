#pragma once
// The dead-letter view of webhook deliveries, tenant-bound like every job route:
//   GET  /v1/webhooks/deliveries?state=failed[&limit=N]  the caller's tenant's dead
//        deliveries, newest first ({"deliveries":[...]}; N ≤ 1000, default 100)
//   POST /v1/webhooks/deliveries/{id}:resend             queues a dead one again (202),
//        its tries starting over; 404 for one the tenant does not have dead
// Calls Redis through the port on the calling thread. Thread-safe.

#include "common/http_types.h"
#include "gateway/caller.h"
#include "gateway/webhook_deliveries_port.h"

namespace batchq {

inline constexpr std::string_view kWebhookDeliveriesPath = "/v1/webhooks/deliveries";

HttpReply HandleWebhookRoute(const HttpRequestIn& request, const Caller& caller,
                             WebhookDeliveriesPort& deliveries);

}  // namespace batchq
