#pragma once
// What one webhook delivery POSTs: the job's final record, the same JSON as
// GET /v1/jobs/{id}, with `Batchq-Delivery: <delivery id>` (what a receiver
// de-duplicates on: deliveries are at least once) and `Batchq-Signature`, made with the
// webhook secret the submitting key holds at the time of sending (a rotated secret signs
// the deliveries still to come). A revoked key still signs the deliveries of the jobs it
// submitted while it was valid. Pure.

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/api_key.h"
#include "common/error.h"
#include "common/job_record.h"
#include "common/web_url.h"
#include "common/webhook_store.h"

namespace batchq {

struct WebhookMessage {
  WebUrl url;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// The message, or why it cannot be sent (a sentence, kept as the dead delivery's
// last_error): the job's record expired, or its key or its secret is gone.
Result<WebhookMessage> BuildWebhookMessage(const DueDelivery& delivery,
                                           const std::optional<JobRecord>& job,
                                           const std::optional<KeyRecord>& key,
                                           std::chrono::seconds now);

}  // namespace batchq
