// The ZAP decision alone: which key may use which port.
#include <gtest/gtest.h>

#include "broker/peer_allow_list.h"

namespace batchq {
namespace {

TEST(PeerAllowListTest, AKeyIsAllowedOnlyOnThePortItIsListedFor) {
  PeerAllowList list;
  list.Set("gateway", {{"GATEWAYKEY", "gateway-1"}});
  list.Set("worker", {{"WORKERKEY", "gpu-host-7"}});

  const PeerVerdict worker = list.Decide("worker", "CURVE", "WORKERKEY");
  EXPECT_TRUE(worker.allowed);
  EXPECT_EQ(worker.status_code, "200");
  EXPECT_EQ(worker.user_id, "gpu-host-7");
  EXPECT_TRUE(list.Decide("gateway", "CURVE", "GATEWAYKEY").allowed);

  const PeerVerdict crossed = list.Decide("gateway", "CURVE", "WORKERKEY");
  EXPECT_FALSE(crossed.allowed);
  EXPECT_EQ(crossed.status_code, "400");
  EXPECT_FALSE(list.Decide("worker", "CURVE", "GATEWAYKEY").allowed);
  EXPECT_FALSE(list.Decide("worker", "CURVE", "STRANGER").allowed);
  EXPECT_FALSE(list.Decide("worker", "CURVE", "").allowed);
}

TEST(PeerAllowListTest, OtherMechanismsAndUnknownDomainsAreRefused) {
  PeerAllowList list;
  list.Set("worker", {{"WORKERKEY", "w"}});
  EXPECT_FALSE(list.Decide("worker", "NULL", "").allowed);
  EXPECT_FALSE(list.Decide("worker", "PLAIN", "WORKERKEY").allowed);
  EXPECT_FALSE(list.Decide("", "CURVE", "WORKERKEY").allowed);
  EXPECT_FALSE(list.Decide("admin", "CURVE", "WORKERKEY").allowed);
}

TEST(PeerAllowListTest, ReplacingAListDropsKeysNoLongerInIt) {
  PeerAllowList list;
  list.Set("worker", {{"OLD", "old"}});
  list.Set("worker", {{"NEW", "new"}});
  EXPECT_FALSE(list.Decide("worker", "CURVE", "OLD").allowed);
  EXPECT_TRUE(list.Decide("worker", "CURVE", "NEW").allowed);
  EXPECT_EQ(list.size("worker"), 1u);
  EXPECT_EQ(list.size("gateway"), 0u);
}

}  // namespace
}  // namespace batchq
