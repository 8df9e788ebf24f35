// Webhooks through real processes (keys, CURVE and Redis ACLs on): a job with a
// callback_url is POSTed, signed with its key's webhook secret, to a receiver on loopback
// (allow-listed with --webhook-allow); the receiver verifies every signature, fails the
// first tries and sees them tried again under the same delivery id; a delivery that
// stays failing is dead, listed for its tenant only, and re-sent; a receiver that
// hangs holds up one sender, and another sender delivers the next job's webhook; a delivery queued
// while no gateway sends survives a gateway restart; destinations and keys that may not have
// webhooks are refused at submit.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/webhook_signature.h"
#include "tests/support/stack.h"
#include "tests/support/webhook_receiver.h"

namespace batchq::test {
namespace {

using namespace std::chrono_literals;

struct WebhookKey {
  std::string key;
  std::string secret;
  std::string id;
};

WebhookKey CreateWebhookKey(Stack& stack, const std::string& tenant, const std::string& scopes) {
  auto made = stack.Client()->PostJson(
      "/v1/keys", fmt::format(R"({{"tenant":"{}","scopes":"{}","webhook":true}})", tenant, scopes));
  if (!made || made->status != 201) throw std::runtime_error("POST /v1/keys refused");
  return {JsonString(made->body, "key"), JsonString(made->body, "webhook_secret"),
          JsonString(made->body, "id")};
}

StackOptions WebhookStack(int max_tries) {
  return {.workers = 1,
          .gateway_args = {"--webhook-allow", "127.0.0.1", "--webhook-backoff-ms", "20",
                           "--webhook-max-tries", std::to_string(max_tries)}};
}

std::string SubmitWithCallback(HttpClient& client, const std::string& url) {
  auto submitted = client.PostJson(
      "/v1/jobs", fmt::format(R"({{"type":"upper","input":"hook me","callback_url":"{}"}})", url));
  if (!submitted || submitted->status != 202) {
    throw std::runtime_error("submit refused: " + (submitted ? submitted->body : "no answer"));
  }
  return JsonString(submitted->body, "id");
}

// GET /v1/webhooks/deliveries?state=failed until it lists a delivery of job `id`
// (bounded); its last body.
std::string DeadDeliveries(HttpClient& client, const std::string& id) {
  std::string listed;
  WaitFor(
      [&] {
        auto answer = client.Get("/v1/webhooks/deliveries?state=failed");
        listed = answer ? answer->body : "";
        return listed.find(id) != std::string::npos;
      },
      30s);
  return listed;
}

std::chrono::seconds Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch());
}

TEST(WebhookTest, AJobsEndIsPostedSignedAndTriedAgainUntilTheReceiverTakesIt) {
  Stack stack(WebhookStack(5));
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  // The key and the job are made with the CLI, as a user would.
  std::string made;
  ASSERT_EQ(RunCommand({BATCHQ_CLI_BIN, "--url", stack.url(), "--api-key-file",
                        stack.admin_key_file(), "--output", "json", "keys", "create", "--tenant",
                        "acme", "--scopes", "submit,read", "--webhook"},
                       &made),
            0)
      << made;
  made = made.substr(made.find('{'));
  const WebhookKey acme{JsonString(made, "key"), JsonString(made, "webhook_secret")};
  ASSERT_TRUE(acme.secret.starts_with("whsec_")) << made;
  WebhookReceiver receiver(
      [](const ReceivedWebhook&, std::size_t n) { return n <= 2 ? 503 : 200; });
  auto client = stack.Client(acme.key);
  const std::string key_file = stack.dir() + "/acme.key";
  std::ofstream(key_file) << acme.key << "\n";
  std::string id;
  ASSERT_EQ(RunCommand({BATCHQ_CLI_BIN, "--url", stack.url(), "--api-key-file", key_file, "submit",
                        "upper", "hook me", "--callback-url", receiver.url("/hook?from=batchq")},
                       &id),
            0)
      << id;
  id = id.substr(0, id.find_first_of(" \n"));
  const std::string ended = WaitTerminal(*client, id);
  ASSERT_EQ(JsonString(ended, "status"), "succeeded") << ended;
  EXPECT_EQ(JsonString(ended, "callback_url"), receiver.url("/hook?from=batchq"));

  ASSERT_TRUE(WaitFor([&] { return receiver.count() >= 3; }, 30s)) << stack.Logs();
  const auto got = receiver.received();
  ASSERT_EQ(got.size(), 3u) << "delivered once taken";
  for (const ReceivedWebhook& hook : got) {
    EXPECT_EQ(hook.target, "/hook?from=batchq");
    EXPECT_EQ(hook.delivery, id + ".1") << "one delivery id, tried again";
    EXPECT_EQ(hook.body, ended) << "the same JSON as GET /v1/jobs/{id}";
    EXPECT_TRUE(VerifyWebhook(acme.secret, hook.signature, hook.body, Now(), 300s))
        << hook.signature;
    EXPECT_FALSE(
        VerifyWebhook("whsec_" + std::string(64, '0'), hook.signature, hook.body, Now(), 300s));
  }
  EXPECT_EQ(got[2].answered, 200);
  const std::string metrics = ScrapeMetrics(stack.url(), stack.admin_key());
  EXPECT_EQ(MetricValue(metrics, R"(batchq_webhook_tries_total{verdict="retrying"})"), 2);
  EXPECT_EQ(MetricValue(metrics, R"(batchq_webhook_tries_total{verdict="delivered"})"), 1);
  const auto listed = client->Get("/v1/webhooks/deliveries?state=failed");
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->body, R"({"deliveries":[]})");
}

TEST(WebhookTest, ADeliveryThatKeepsFailingIsDeadListedForItsTenantAndResent) {
  Stack stack(WebhookStack(2));
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  const WebhookKey acme = CreateWebhookKey(stack, "acme", "submit,read");
  const std::string reader = stack.CreateKey("acme", "read");
  const WebhookKey other = CreateWebhookKey(stack, "other", "submit,read");
  std::atomic<bool> healed{false};
  WebhookReceiver receiver(
      [&](const ReceivedWebhook&, std::size_t) { return healed.load() ? 204 : 500; });
  auto client = stack.Client(acme.key);
  const std::string id = SubmitWithCallback(*client, receiver.url());
  const std::string listed = DeadDeliveries(*client, id);
  ASSERT_NE(listed.find(id), std::string::npos) << listed << stack.Logs();
  EXPECT_EQ(receiver.count(), 2u) << "--webhook-max-tries 2";
  EXPECT_NE(listed.find(R"("id":")" + id + R"(.1")"), std::string::npos) << listed;
  EXPECT_NE(listed.find(R"("tries":2)"), std::string::npos) << listed;
  EXPECT_NE(listed.find("HTTP 500"), std::string::npos) << listed;
  auto theirs = stack.Client(other.key)->Get("/v1/webhooks/deliveries?state=failed");
  EXPECT_EQ(theirs->body, R"({"deliveries":[]})") << "each tenant sees its own";

  const std::string resend = "/v1/webhooks/deliveries/" + id + ".1:resend";
  EXPECT_EQ(stack.Client(reader)->PostJson(resend, "")->status, 403) << "a read-only key";
  EXPECT_EQ(stack.Client(other.key)->PostJson(resend, "")->status, 404) << "another tenant";
  // The CLI lists it and re-sends it.
  const std::string key_file = stack.dir() + "/acme.key";
  std::ofstream(key_file) << acme.key << "\n";
  std::string out;
  ASSERT_EQ(RunCommand({BATCHQ_CLI_BIN, "--url", stack.url(), "--api-key-file", key_file,
                        "webhooks", "failed"},
                       &out),
            0)
      << out;
  EXPECT_NE(out.find(id + ".1"), std::string::npos) << out;
  EXPECT_NE(out.find("HTTP 500"), std::string::npos) << out;
  // A rotated secret signs the deliveries still to come.
  const auto rotated =
      stack.Client()->PostJson("/v1/keys/" + acme.id + ":rotate-webhook-secret", "");
  ASSERT_TRUE(rotated);
  ASSERT_EQ(rotated->status, 200) << rotated->body;
  const std::string new_secret = JsonString(rotated->body, "webhook_secret");
  ASSERT_TRUE(new_secret.starts_with("whsec_") && new_secret != acme.secret) << rotated->body;
  healed = true;
  ASSERT_EQ(RunCommand({BATCHQ_CLI_BIN, "--url", stack.url(), "--api-key-file", key_file,
                        "webhooks", "resend", id + ".1"},
                       &out),
            0)
      << out;
  ASSERT_TRUE(WaitFor([&] { return receiver.count() >= 3; }, 30s)) << stack.Logs();
  const auto got = receiver.received();
  EXPECT_EQ(got.back().answered, 204);
  EXPECT_EQ(got.back().delivery, id + ".1");
  EXPECT_TRUE(VerifyWebhook(new_secret, got.back().signature, got.back().body, Now(), 300s));
  EXPECT_FALSE(VerifyWebhook(acme.secret, got.back().signature, got.back().body, Now(), 300s))
      << "the old secret signs no more";
  ASSERT_TRUE(WaitFor(
      [&] {
        return client->Get("/v1/webhooks/deliveries?state=failed")->body == R"({"deliveries":[]})";
      },
      10s));
  EXPECT_EQ(client->PostJson(resend, "")->status, 404) << "no longer dead";
}

TEST(WebhookTest, AReceiverThatHangsHoldsOneSenderWhileAnotherDeliversTheNext) {
  // While idle, one sender looks and the other waits to be called: the one that finds the
  // hanging receiver's delivery must call the other, which then finds the next delivery.
  StackOptions options = WebhookStack(5);
  for (const char* arg : {"--webhook-senders", "2", "--webhook-timeout-ms", "60000"}) {
    options.gateway_args.push_back(arg);
  }
  Stack stack(options);
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  const WebhookKey acme = CreateWebhookKey(stack, "acme", "submit,read");
  std::mutex mutex;
  std::condition_variable released;
  bool release = false;
  std::atomic<bool> held{false};
  WebhookReceiver hanging([&](const ReceivedWebhook&, std::size_t) {
    held = true;
    std::unique_lock lock(mutex);
    released.wait(lock, [&] { return release; });
    return 200;
  });
  // Declared after the receiver, so that it lets it answer before it stops.
  struct Release {
    std::mutex& mutex;
    std::condition_variable& released;
    bool& release;
    void Now() {
      {
        std::lock_guard lock(mutex);
        release = true;
      }
      released.notify_all();
    }
    ~Release() { Now(); }
  } release_hanging{mutex, released, release};
  WebhookReceiver quick([](const ReceivedWebhook&, std::size_t) { return 200; });
  auto client = stack.Client(acme.key);

  SubmitWithCallback(*client, hanging.url());
  ASSERT_TRUE(WaitFor([&] { return held.load(); }, 30s)) << stack.Logs();
  SubmitWithCallback(*client, quick.url());
  EXPECT_TRUE(WaitFor([&] { return quick.count() == 1; }, 30s))
      << "delivered by the other sender while the first is held (60 s)\n"
      << stack.Logs();
  EXPECT_EQ(hanging.count(), 0u) << "still held";
  release_hanging.Now();
  EXPECT_TRUE(WaitFor([&] { return hanging.count() == 1; }, 30s)) << stack.Logs();
}

TEST(WebhookTest, ADeliveryWaitsInRedisForAGatewayThatSendsAcrossARestart) {
  StackOptions options = WebhookStack(5);
  options.gateway_args.insert(options.gateway_args.end(), {"--webhook-senders", "0"});
  Stack stack(options);
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  const WebhookKey acme = CreateWebhookKey(stack, "acme", "submit,read");
  WebhookReceiver receiver([](const ReceivedWebhook&, std::size_t) { return 200; });
  auto client = stack.Client(acme.key);
  const std::string id = SubmitWithCallback(*client, receiver.url());
  ASSERT_EQ(JsonString(WaitTerminal(*client, id), "status"), "succeeded");
  EXPECT_EQ(receiver.count(), 0u) << "this gateway sends none";

  stack.gateway().Kill();
  stack.options().gateway_args.resize(stack.options().gateway_args.size() - 2);
  stack.StartGateway();
  ASSERT_TRUE(WaitFor([&] { return receiver.count() >= 1; }, 30s)) << stack.Logs();
  EXPECT_EQ(receiver.received().front().delivery, id + ".1");
}

TEST(WebhookTest, DestinationsAndKeysThatMayNotHaveWebhooksAreRefusedAtSubmit) {
  Stack stack(WebhookStack(3));
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  const WebhookKey acme = CreateWebhookKey(stack, "acme", "submit,read");
  const std::string plain = stack.CreateKey("acme", "submit,read");
  auto submit = [&](const std::string& key, const std::string& url) {
    return stack.Client(key)->PostJson(
        "/v1/jobs", fmt::format(R"({{"type":"upper","input":"x","callback_url":"{}"}})", url));
  };
  const auto inner = submit(acme.key, "http://10.0.0.7/hook");
  ASSERT_TRUE(inner);
  EXPECT_EQ(inner->status, 400);
  EXPECT_NE(inner->body.find("--webhook-allow"), std::string::npos) << inner->body;
  EXPECT_EQ(submit(acme.key, "http://169.254.169.254/latest/meta-data")->status, 400);
  EXPECT_EQ(submit(acme.key, "http://[::1]:8080/hook")->status, 400);
  EXPECT_EQ(submit(acme.key, "http://user@127.0.0.1/hook")->status, 400);
  EXPECT_EQ(submit(acme.key, "file:///etc/passwd")->status, 400);
  const auto unsigned_key = submit(plain, "http://127.0.0.1:9/hook");
  EXPECT_EQ(unsigned_key->status, 400);
  EXPECT_NE(unsigned_key->body.find("webhook secret"), std::string::npos) << unsigned_key->body;
  EXPECT_EQ(submit(acme.key, "http://127.0.0.1:9/hook")->status, 202) << "listed";

  // In a :batch, only the item refused.
  const auto batch = stack.Client(acme.key)->PostJson(
      "/v1/jobs:batch",
      R"({"jobs":[{"type":"upper","input":"a","callback_url":"http://10.0.0.7/"},)"
      R"({"type":"upper","input":"b"}]})");
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->status, 202) << batch->body;
  EXPECT_TRUE(batch->body.starts_with(R"({"jobs":[{"error":{"code":"invalid_request")"))
      << batch->body;
  EXPECT_EQ(BatchIds(batch->body).size(), 1u) << "the other item is taken: " << batch->body;
}

TEST(WebhookTest, AHostNameThatResolvesToAnUnlistedInnerAddressIsNeverConnectedTo) {
  // Only 127.0.0.2 is listed; "localhost" names 127.0.0.1, checked where it resolves.
  StackOptions options = WebhookStack(5);
  options.gateway_args[1] = "127.0.0.2";
  Stack stack(options);
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  const WebhookKey acme = CreateWebhookKey(stack, "acme", "submit,read");
  WebhookReceiver receiver([](const ReceivedWebhook&, std::size_t) { return 200; });
  auto client = stack.Client(acme.key);
  const std::string url = fmt::format("http://localhost:{}/hook", receiver.port());
  const std::string id = SubmitWithCallback(*client, url);  // a name passes the submit
  const std::string listed = DeadDeliveries(*client, id);
  ASSERT_NE(listed.find(id), std::string::npos) << listed << stack.Logs();
  EXPECT_NE(listed.find("localhost resolves to"), std::string::npos) << listed;
  EXPECT_NE(listed.find(R"("tries":1)"), std::string::npos) << "dead at once: " << listed;
  EXPECT_EQ(receiver.count(), 0u) << "no connection was made";
}

}  // namespace
}  // namespace batchq::test
