#pragma once
// `batchq webhooks failed|resend`: the caller's tenant's dead webhook deliveries
// (GET /v1/webhooks/deliveries?state=failed) and re-sending one.

#include <string>

#include "cli/commands.h"

namespace batchq::cli {

// In text, one line per dead delivery: id, tries, when it died, the last error.
int WebhooksFailed(const Common& common, int limit);
int WebhooksResend(const Common& common, const std::string& delivery_id);

}  // namespace batchq::cli
