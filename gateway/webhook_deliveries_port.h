#pragma once
// What the webhook routes need of the deliveries in Redis (WebhookStore), so they can be
// driven by a fake. Implementations are called from I/O threads and must be thread-safe.

#include <cstddef>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/webhook_store.h"

namespace batchq {

class WebhookDeliveriesPort {
 public:
  virtual ~WebhookDeliveriesPort() = default;
  // The tenant's dead deliveries, newest first.
  virtual Result<std::vector<DeliveryView>> FailedDeliveries(std::string_view tenant,
                                                             std::size_t limit) = 0;
  // Queues one of the tenant's dead deliveries again; false when it has no such one.
  virtual Result<bool> ResendDelivery(std::string_view tenant, std::string_view id) = 0;
};

}  // namespace batchq
