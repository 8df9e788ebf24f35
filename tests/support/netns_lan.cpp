#include "tests/support/netns_lan.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "tests/support/child_process.h"

namespace batchq::test {
namespace {

// `ip ARGS...`; its output (stdout and stderr), or throws with the command and output.
std::string Ip(const std::vector<std::string>& args) {
  std::vector<std::string> argv{BATCHQ_IP};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string out;
  if (RunCommand(argv, &out, std::chrono::seconds(20)) != 0) {
    throw std::runtime_error(fmt::format("`{}` failed: {}", fmt::join(argv, " "), out));
  }
  return out;
}

int IpQuietly(const std::vector<std::string>& args) {
  std::vector<std::string> argv{BATCHQ_IP};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string out;
  return RunCommand(argv, &out, std::chrono::seconds(20));
}

// Namespaces of LANs whose test process died before removing them ("bq<pid>-...").
void RemoveStaleNamespaces() {
  std::string list;
  if (RunCommand({BATCHQ_IP, "netns", "list"}, &list) != 0) return;
  std::istringstream lines(list);
  std::string name;
  std::string rest;
  while (lines >> name && std::getline(lines, rest)) {
    if (name.rfind("bq", 0) != 0) continue;
    const int pid = std::atoi(name.c_str() + 2);
    if (pid <= 0 || pid == getpid() || kill(pid, 0) == 0 || errno != ESRCH) continue;
    IpQuietly({"netns", "del", name});
  }
}

// Held while a LAN picks its subnet and puts it on this namespace's link, so that two
// test processes never take the same one.
class SubnetLock {
 public:
  SubnetLock() : fd_(open("/tmp/batchq-test-lans.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0666)) {
    if (fd_ >= 0) flock(fd_, LOCK_EX);
  }
  ~SubnetLock() {
    if (fd_ >= 0) close(fd_);
  }
  SubnetLock(const SubnetLock&) = delete;
  SubnetLock& operator=(const SubnetLock&) = delete;

 private:
  int fd_;
};

}  // namespace

std::vector<std::string> InHost(const Host& host, std::vector<std::string> argv) {
  if (host.netns.empty()) return argv;
  std::vector<std::string> wrapped{BATCHQ_IP, "netns", "exec", host.netns};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

std::string NetnsLan::Unavailable() {
  if (std::string(BATCHQ_IP).empty() || access(BATCHQ_IP, X_OK) != 0) {
    return "this test needs `ip` from iproute2 to make network namespaces, and it was not "
           "found when batchq was configured (apt-get install iproute2)";
  }
  if (geteuid() != 0) {
    return "this test makes network namespaces and veth links, which needs root; run it as "
           "root (CI does)";
  }
  const std::string probe = fmt::format("bq{}-probe", getpid());
  std::string out;
  if (RunCommand({BATCHQ_IP, "netns", "add", probe}, &out) != 0) {
    return "this machine refused to make a network namespace (`ip netns add`: " + out + ")";
  }
  IpQuietly({"netns", "del", probe});
  return "";
}

NetnsLan::NetnsLan(const std::vector<std::string>& names) {
  static int lans = 0;
  prefix_ = fmt::format("bq{}-{}-", getpid(), lans);
  uplink_ = fmt::format("bq{}-{}", getpid(), lans++);
  lan_netns_ = prefix_ + "lan";
  RemoveStaleNamespaces();
  Ip({"netns", "add", lan_netns_});
  Ip({"-n", lan_netns_, "link", "add", "br0", "type", "bridge"});
  Ip({"-n", lan_netns_, "link", "set", "br0", "up"});
  {
    SubnetLock lock;
    const std::string taken = Ip({"-4", "-o", "addr", "show"});
    for (int x = 0; x < 256 && subnet_.empty(); ++x) {
      const std::string candidate = fmt::format("198.18.{}.", x);
      if (taken.find(" " + candidate) == std::string::npos) subnet_ = candidate;
    }
    if (subnet_.empty()) throw std::runtime_error("every /24 of 198.18.0.0/16 is taken");
    Ip({"link", "add", uplink_, "type", "veth", "peer", "name", "up0", "netns", lan_netns_});
    Ip({"addr", "add", subnet_ + "254/24", "dev", uplink_});
    Ip({"link", "set", uplink_, "up"});
  }
  Ip({"-n", lan_netns_, "link", "set", "up0", "master", "br0", "up"});
  for (std::size_t i = 0; i < names.size(); ++i) AddHost(names[i], static_cast<int>(i) + 1);
}

void NetnsLan::AddHost(const std::string& name, int index) {
  Host host{prefix_ + name, subnet_ + std::to_string(index)};
  const std::string port = fmt::format("p{}", index);
  Ip({"netns", "add", host.netns});
  Ip({"-n", host.netns, "link", "set", "lo", "up"});
  Ip({"-n", lan_netns_, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns",
      host.netns});
  Ip({"-n", lan_netns_, "link", "set", port, "master", "br0", "up"});
  Ip({"-n", host.netns, "addr", "add", host.address + "/24", "dev", "eth0"});
  Ip({"-n", host.netns, "link", "set", "eth0", "up"});
  hosts_.emplace(name, std::move(host));
}

int NetnsLan::KillEverything(const std::string& name) const {
  std::string pids;
  RunCommand({BATCHQ_IP, "netns", "pids", host(name).netns}, &pids);
  std::istringstream in(pids);
  int killed = 0;
  for (pid_t pid = 0; in >> pid;) {
    if (kill(pid, SIGKILL) == 0) ++killed;
  }
  return killed;
}

NetnsLan::~NetnsLan() {
  for (const auto& [name, host] : hosts_) {
    KillEverything(name);
    IpQuietly({"netns", "del", host.netns});
  }
  // Removing the bridge's namespace removes its ends of the links, and with them the
  // other ends (this namespace's uplink included).
  IpQuietly({"netns", "del", lan_netns_});
  IpQuietly({"link", "del", uplink_});
}

}  // namespace batchq::test
