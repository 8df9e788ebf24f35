#include "gateway/webhook_message.h"

#include <gtest/gtest.h>

#include "common/webhook_signature.h"
#include "gateway/job_json.h"

namespace batchq {
namespace {

using namespace std::chrono_literals;

std::string Header(const WebhookMessage& message, const std::string& name) {
  for (const auto& [key, value] : message.headers) {
    if (key == name) return value;
  }
  return "";
}

JobRecord EndedJob() {
  JobRecord job;
  job.id = "j1";
  job.type = "upper";
  job.tenant = "acme";
  job.status = JobStatus::kSucceeded;
  job.result = R"("HELLO")";
  job.callback_url = "https://hooks.example.com/in?x=1";
  job.webhook_key = "k1";
  return job;
}

TEST(WebhookMessageTest, PostsTheJobsJsonSignedWithTheKeysSecretAndNamesTheDelivery) {
  KeyRecord key;
  key.id = "k1";
  key.webhook_secret = "whsec_abc";
  const DueDelivery delivery{"j1.1", "j1", "acme", 0};
  auto message = BuildWebhookMessage(delivery, EndedJob(), key, 1000s);
  ASSERT_TRUE(message) << message.error().message;
  EXPECT_EQ(message->body, RenderJob(EndedJob())) << "the same JSON as GET /v1/jobs/{id}";
  EXPECT_EQ(message->url.host, "hooks.example.com");
  EXPECT_EQ(message->url.target, "/in?x=1");
  EXPECT_EQ(Header(*message, "Batchq-Delivery"), "j1.1");
  const std::string signature = Header(*message, "Batchq-Signature");
  EXPECT_TRUE(VerifyWebhook("whsec_abc", signature, message->body, 1010s, 300s)) << signature;
  EXPECT_FALSE(VerifyWebhook("whsec_other", signature, message->body, 1010s, 300s));
}

TEST(WebhookMessageTest, AnExpiredJobOrAKeyWithoutASecretCannotBeSent) {
  const DueDelivery delivery{"j1.1", "j1", "acme", 0};
  KeyRecord key;
  key.webhook_secret = "whsec_abc";
  EXPECT_FALSE(BuildWebhookMessage(delivery, std::nullopt, key, 1000s));
  EXPECT_FALSE(BuildWebhookMessage(delivery, EndedJob(), std::nullopt, 1000s));
  key.webhook_secret.clear();
  const auto no_secret = BuildWebhookMessage(delivery, EndedJob(), key, 1000s);
  ASSERT_FALSE(no_secret);
  EXPECT_NE(no_secret.error().message.find("webhook secret"), std::string::npos);
}

}  // namespace
}  // namespace batchq
