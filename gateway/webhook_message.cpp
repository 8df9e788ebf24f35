#include "gateway/webhook_message.h"

#include "common/webhook_signature.h"
#include "gateway/job_json.h"

namespace batchq {

Result<WebhookMessage> BuildWebhookMessage(const DueDelivery& delivery,
                                           const std::optional<JobRecord>& job,
                                           const std::optional<KeyRecord>& key,
                                           std::chrono::seconds now) {
  if (!job || job->callback_url.empty()) {
    return Fail(ErrorCode::kNotFound,
                "The job's record expired (or was deleted) before its delivery.");
  }
  if (!key || key->webhook_secret.empty()) {
    return Fail(ErrorCode::kNotFound,
                "The key that submitted the job no longer exists or has no webhook secret.");
  }
  auto url = ParseWebUrl(job->callback_url);
  if (!url) return std::unexpected(url.error());
  WebhookMessage message{std::move(*url), RenderJob(*job), {}};
  message.headers.emplace_back("Batchq-Delivery", delivery.id);
  message.headers.emplace_back("Batchq-Signature",
                               SignWebhook(key->webhook_secret, now, message.body));
  return message;
}

}  // namespace batchq
