#include "gateway/delivery_policy.h"

#include <gtest/gtest.h>

namespace batchq {
namespace {

using namespace std::chrono_literals;

TEST(DeliveryPolicyTest, A2xxIsDeliveredAndPassingFailuresBackOffUntilTheLastTry) {
  const DeliveryPolicy policy{.max_tries = 4, .first_backoff = 1000ms, .max_backoff = 3000ms};
  EXPECT_EQ(Judge(policy, {.status = 204}, 1, 1.0).state, DeliveryState::kDelivered);
  const auto first = Judge(policy, {.status = 503}, 1, 1.0);
  EXPECT_EQ(first.state, DeliveryState::kRetrying);
  EXPECT_EQ(first.retry_in, 1000ms);
  EXPECT_EQ(Judge(policy, {.status = std::nullopt}, 2, 1.0).retry_in, 2000ms) << "no answer";
  EXPECT_EQ(Judge(policy, {.status = 500}, 3, 1.0).retry_in, 3000ms) << "capped";
  EXPECT_EQ(Judge(policy, {.status = 500}, 2, 0.5).retry_in, 1000ms) << "jittered";
  EXPECT_EQ(Judge(policy, {.status = 500}, 4, 1.0).state, DeliveryState::kFailed) << "the last";
}

TEST(DeliveryPolicyTest, ARequestTheReceiverRefusesOrARefusedDestinationIsDeadAtOnce) {
  const DeliveryPolicy policy;
  EXPECT_EQ(Judge(policy, {.status = 400}, 1, 1.0).state, DeliveryState::kFailed);
  EXPECT_EQ(Judge(policy, {.status = 404}, 1, 1.0).state, DeliveryState::kFailed);
  EXPECT_EQ(Judge(policy, {.status = std::nullopt, .destination_refused = true}, 1, 1.0).state,
            DeliveryState::kFailed);
  const auto busy = Judge(policy, {.status = 429, .retry_after = 30s}, 1, 1.0);
  EXPECT_EQ(busy.state, DeliveryState::kRetrying);
  EXPECT_EQ(busy.retry_in, 30000ms) << "the receiver's Retry-After wins when longer";
  EXPECT_EQ(Judge(policy, {.status = 408}, 1, 1.0).state, DeliveryState::kRetrying);
}

}  // namespace
}  // namespace batchq
