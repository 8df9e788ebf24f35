#include "gateway/webhook_routes.h"

#include <map>

#include <gtest/gtest.h>

namespace batchq {
namespace {

// Dead deliveries per tenant, as WebhookStore keeps them.
class FakeDeliveries : public WebhookDeliveriesPort {
 public:
  std::map<std::string, std::vector<DeliveryView>> failed;
  std::size_t asked_limit = 0;

  Result<std::vector<DeliveryView>> FailedDeliveries(std::string_view tenant,
                                                     std::size_t limit) override {
    asked_limit = limit;
    return failed[std::string(tenant)];
  }
  Result<bool> ResendDelivery(std::string_view tenant, std::string_view id) override {
    auto& list = failed[std::string(tenant)];
    for (auto it = list.begin(); it != list.end(); ++it) {
      if (it->id == id) {
        list.erase(it);
        return true;
      }
    }
    return false;
  }
};

HttpRequestIn Request(std::string method, std::string path, std::string query = "") {
  HttpRequestIn request;
  request.method = std::move(method);
  request.path = std::move(path);
  request.query = std::move(query);
  return request;
}

Caller Of(std::string tenant) {
  Caller caller;
  caller.tenant = std::move(tenant);
  return caller;
}

TEST(WebhookRoutesTest, ListsTheCallersDeadDeliveriesAndResendsOnlyItsOwn) {
  FakeDeliveries deliveries;
  deliveries.failed["acme"] = {
      {"j1.1", "j1", "failed", 3, "The receiver answered HTTP 500.", 10, 20}};
  const auto list = HandleWebhookRoute(Request("GET", "/v1/webhooks/deliveries", "state=failed"),
                                       Of("acme"), deliveries);
  EXPECT_EQ(list.status, 200);
  EXPECT_EQ(list.body,
            R"({"deliveries":[{"id":"j1.1","job_id":"j1","state":"failed","tries":3,)"
            R"("last_error":"The receiver answered HTTP 500.","created_us":10,"updated_us":20}]})");
  EXPECT_EQ(deliveries.asked_limit, 100u);
  const auto other = HandleWebhookRoute(
      Request("GET", "/v1/webhooks/deliveries", "state=failed&limit=5"), Of("other"), deliveries);
  EXPECT_EQ(other.body, R"({"deliveries":[]})");
  EXPECT_EQ(deliveries.asked_limit, 5u);

  EXPECT_EQ(HandleWebhookRoute(Request("POST", "/v1/webhooks/deliveries/j1.1:resend"), Of("other"),
                               deliveries)
                .status,
            404)
      << "not another tenant's";
  const auto resent = HandleWebhookRoute(Request("POST", "/v1/webhooks/deliveries/j1.1:resend"),
                                         Of("acme"), deliveries);
  EXPECT_EQ(resent.status, 202);
  EXPECT_EQ(resent.body, R"({"id":"j1.1","state":"pending"})");
  EXPECT_TRUE(deliveries.failed["acme"].empty());
}

TEST(WebhookRoutesTest, RefusesWhatItDoesNotServe) {
  FakeDeliveries deliveries;
  auto status = [&](std::string method, std::string path, std::string query = "") {
    return HandleWebhookRoute(Request(std::move(method), std::move(path), std::move(query)),
                              Of("acme"), deliveries)
        .status;
  };
  EXPECT_EQ(status("GET", "/v1/webhooks/deliveries"), 400) << "state=failed is required";
  EXPECT_EQ(status("GET", "/v1/webhooks/deliveries", "state=delivered"), 400);
  EXPECT_EQ(status("GET", "/v1/webhooks/deliveries", "state=failed&limit=0"), 400);
  EXPECT_EQ(status("GET", "/v1/webhooks/deliveries", "state=failed&limit=1001"), 400);
  EXPECT_EQ(status("GET", "/v1/webhooks/deliveries", "state=failed&limit=x"), 400);
  EXPECT_EQ(status("POST", "/v1/webhooks/deliveries", "state=failed"), 405);
  EXPECT_EQ(status("GET", "/v1/webhooks/deliveries/j1.1:resend"), 405);
  EXPECT_EQ(status("POST", "/v1/webhooks/deliveries/a%2Fb:resend"), 404);
  EXPECT_EQ(status("POST", "/v1/webhooks/deliveries/:resend"), 404);
  EXPECT_EQ(status("POST", "/v1/webhooks/deliveries/j1.1"), 404);
  EXPECT_EQ(status("GET", "/v1/webhooks/elsewhere"), 404);
}

}  // namespace
}  // namespace batchq
