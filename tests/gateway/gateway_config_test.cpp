// The gateway's defaults that depend on the host.
#include <thread>

#include <gtest/gtest.h>

#include "gateway/gateway_config.h"

namespace batchq {
namespace {

TEST(GatewayConfigTest, OneIoThreadOnTwoCpusOrFewerAndTwoOnMore) {
  EXPECT_EQ(DefaultIoThreads(1), 1u);
  EXPECT_EQ(DefaultIoThreads(2), 1u);
  EXPECT_EQ(DefaultIoThreads(3), 2u);
  EXPECT_EQ(DefaultIoThreads(64), 2u);
  // Not known: the default of a host that is not small.
  EXPECT_EQ(DefaultIoThreads(0), 2u);
}

TEST(GatewayConfigTest, TheUsableCpusAreSomeOfTheOnlineOnes) {
  const unsigned usable = UsableCpus();
  EXPECT_GE(usable, 1u);
  EXPECT_LE(usable, std::thread::hardware_concurrency());
}

}  // namespace
}  // namespace batchq
