#include "gateway/gateway_config.h"

#include <sched.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iterator>
#include <optional>

#include <fmt/format.h>
#include <boost/asio/ip/address.hpp>

namespace batchq {

unsigned DefaultIoThreads(unsigned usable_cpus) {
  return usable_cpus == 1 || usable_cpus == 2 ? 1 : 2;
}

namespace {

// A whole number alone (a file's text, its newline allowed), or nullopt.
std::optional<std::int64_t> WholeNumber(std::string_view text) {
  if (text.ends_with('\n')) text.remove_suffix(1);
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

unsigned CpusOfQuota(std::optional<std::int64_t> quota, std::optional<std::int64_t> period) {
  if (!quota || !period || *quota <= 0 || *period <= 0) return 0;
  const std::int64_t cpus = (*quota + *period - 1) / *period;
  return static_cast<unsigned>(std::min<std::int64_t>(cpus, 1 << 20));
}

}  // namespace

unsigned CpusOfCpuMax(std::string_view cpu_max) {
  const auto space = cpu_max.find(' ');
  if (space == std::string_view::npos) return 0;
  return CpusOfQuota(WholeNumber(cpu_max.substr(0, space)), WholeNumber(cpu_max.substr(space + 1)));
}

unsigned CpusOfCfsQuota(std::string_view quota_us, std::string_view period_us) {
  return CpusOfQuota(WholeNumber(quota_us), WholeNumber(period_us));
}

CpuCgroups CpuCgroupsOf(std::string_view proc_self_cgroup) {
  CpuCgroups groups;
  while (!proc_self_cgroup.empty()) {
    const auto newline = proc_self_cgroup.find('\n');
    const std::string_view line = proc_self_cgroup.substr(0, newline);
    proc_self_cgroup.remove_prefix(newline == std::string_view::npos ? proc_self_cgroup.size()
                                                                     : newline + 1);
    // "<hierarchy>:<controllers>:<path>"
    const auto first = line.find(':');
    const auto second = first == std::string_view::npos ? first : line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    const std::string_view hierarchy = line.substr(0, first);
    const std::string_view controllers = line.substr(first + 1, second - first - 1);
    const std::string_view path = line.substr(second + 1);
    if (!path.starts_with('/')) continue;
    if (hierarchy == "0" && controllers.empty()) groups.v2 = path;
    for (std::string_view rest = controllers; !rest.empty();) {
      const auto comma = rest.find(',');
      if (rest.substr(0, comma) == "cpu") groups.v1 = path;
      rest.remove_prefix(comma == std::string_view::npos ? rest.size() : comma + 1);
    }
  }
  return groups;
}

unsigned CgroupCpuLimit(std::string_view path,
                        const std::function<unsigned(std::string_view group)>& cpus_of_group) {
  unsigned fewest = 0;
  while (!path.empty()) {
    const unsigned cpus = cpus_of_group(path);
    if (cpus != 0 && (fewest == 0 || cpus < fewest)) fewest = cpus;
    if (path == "/") break;
    const auto slash = path.rfind('/');
    path = slash == 0 || slash == std::string_view::npos ? "/" : path.substr(0, slash);
  }
  return fewest;
}

namespace {

std::string FileText(const std::string& path) {
  std::ifstream file(path);
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

// A group's directory under a hierarchy's mount: a container's own namespace names its
// group "/", and so does the root.
std::string GroupDirectory(std::string_view mount, std::string_view group) {
  return fmt::format("{}{}", mount, group == "/" ? "" : group);
}

// The fewest CPUs this process's cgroups allow, v2 and v1 alike; 0 for no quota. A
// group whose directory is not under the mount (a container that sees only its own
// group, at the mount's root) reads as no quota, and the walk goes on up to the root.
unsigned CgroupCpus() {
  const CpuCgroups groups = CpuCgroupsOf(FileText("/proc/self/cgroup"));
  unsigned fewest = 0;
  auto keep = [&fewest](unsigned cpus) {
    if (cpus != 0 && (fewest == 0 || cpus < fewest)) fewest = cpus;
  };
  if (!groups.v2.empty()) {
    keep(CgroupCpuLimit(groups.v2, [](std::string_view group) {
      return CpusOfCpuMax(FileText(GroupDirectory("/sys/fs/cgroup", group) + "/cpu.max"));
    }));
  }
  if (!groups.v1.empty()) {
    keep(CgroupCpuLimit(groups.v1, [](std::string_view group) {
      const std::string dir = GroupDirectory("/sys/fs/cgroup/cpu", group);
      return CpusOfCfsQuota(FileText(dir + "/cpu.cfs_quota_us"),
                            FileText(dir + "/cpu.cfs_period_us"));
    }));
  }
  return fewest;
}

}  // namespace

unsigned UsableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  const unsigned mask =
      sched_getaffinity(0, sizeof(set), &set) == 0 ? static_cast<unsigned>(CPU_COUNT(&set)) : 0;
  const unsigned quota = CgroupCpus();
  if (quota == 0) return mask;
  return mask == 0 ? quota : std::min(mask, quota);
}

std::string CheckAuthConfig(const GatewayConfig& config) {
  if (config.tls_cert.empty() != config.tls_key.empty()) {
    return "HTTPS needs both --tls-cert and --tls-key.";
  }
  if (config.auth != "none") return {};
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(config.listen_address, ec);
  if (ec || !address.is_loopback()) {
    return fmt::format(
        "--auth none lets anyone who reaches the port do anything, so it is only allowed on a "
        "loopback address; --listen is '{}'. Use API keys (--auth keys) to listen there.",
        config.listen_address);
  }
  return {};
}

}  // namespace batchq
