// The gateway's defaults that depend on the host.
#include <map>
#include <string>
#include <thread>
#include <vector>

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

TEST(GatewayConfigTest, ACpuQuotaCountsAsItsCpusRoundedUp) {
  EXPECT_EQ(CpusOfCpuMax("200000 100000\n"), 2u);
  EXPECT_EQ(CpusOfCpuMax("150000 100000"), 2u);
  EXPECT_EQ(CpusOfCpuMax("50000 100000\n"), 1u);
  EXPECT_EQ(CpusOfCpuMax("800000 100000\n"), 8u);
  // No quota, no file, or text that is not cpu.max's.
  EXPECT_EQ(CpusOfCpuMax("max 100000\n"), 0u);
  EXPECT_EQ(CpusOfCpuMax(""), 0u);
  EXPECT_EQ(CpusOfCpuMax("200000"), 0u);
  EXPECT_EQ(CpusOfCpuMax("200000 0"), 0u);
  EXPECT_EQ(CpusOfCpuMax("200000 100000 x"), 0u);
  // cgroup v1's two files.
  EXPECT_EQ(CpusOfCfsQuota("250000\n", "100000\n"), 3u);
  EXPECT_EQ(CpusOfCfsQuota("-1\n", "100000\n"), 0u);
  EXPECT_EQ(CpusOfCfsQuota("", ""), 0u);
}

TEST(GatewayConfigTest, TheCpuCgroupsAreReadFromProcSelfCgroup) {
  // A cgroup v1 host with the unified hierarchy too, as Debian's container hosts have.
  const auto hybrid = CpuCgroupsOf(
      "9:name=systemd:/\n4:memory:/a\n2:cpu,cpuacct:/docker/abc\n1:cpuset:/\n0::/user.slice\n");
  EXPECT_EQ(hybrid.v1, "/docker/abc");
  EXPECT_EQ(hybrid.v2, "/user.slice");
  const auto v2 = CpuCgroupsOf("0::/kubepods/pod1/c1\n");
  EXPECT_EQ(v2.v2, "/kubepods/pod1/c1");
  EXPECT_EQ(v2.v1, "");
  const auto cpu_alone = CpuCgroupsOf("3:cpuacct:/x\n1:cpu:/y");
  EXPECT_EQ(cpu_alone.v1, "/y");
  EXPECT_EQ(CpuCgroupsOf("garbage\n5:cpu:relative\n").v1, "");
}

// A group's quota may be set on it or on any group above it; the smallest one holds.
TEST(GatewayConfigTest, TheCgroupLimitIsTheSmallestQuotaOfTheGroupAndItsAncestors) {
  std::map<std::string, unsigned, std::less<>> quota;
  std::vector<std::string> asked;
  auto cpus = [&](std::string_view group) {
    asked.emplace_back(group);
    const auto found = quota.find(group);
    return found == quota.end() ? 0u : found->second;
  };
  EXPECT_EQ(CgroupCpuLimit("/kubepods/pod1/c1", cpus), 0u);
  EXPECT_EQ(asked,
            (std::vector<std::string>{"/kubepods/pod1/c1", "/kubepods/pod1", "/kubepods", "/"}));
  quota["/kubepods/pod1"] = 3;
  quota["/kubepods"] = 16;
  EXPECT_EQ(CgroupCpuLimit("/kubepods/pod1/c1", cpus), 3u);
  quota["/kubepods/pod1/c1"] = 1;
  EXPECT_EQ(CgroupCpuLimit("/kubepods/pod1/c1", cpus), 1u);
  // A container's own namespace names its group "/".
  quota["/"] = 2;
  EXPECT_EQ(CgroupCpuLimit("/", cpus), 2u);
}

}  // namespace
}  // namespace batchq
