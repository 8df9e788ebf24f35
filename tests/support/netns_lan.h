#pragma once
// Network namespaces joined by veth links to one Ethernet bridge: "hosts" on a LAN, for
// tests and benchmarks that spread a deployment over machines. Made with `ip`
// (iproute2), which needs root.

#include <map>
#include <string>
#include <vector>

namespace batchq::test {

// Where a process runs: a network namespace (empty: this process's own) and the address
// its listeners bind and other hosts reach it at.
struct Host {
  std::string netns;
  std::string address = "127.0.0.1";
};

// `argv` run inside `host`'s namespace (`ip netns exec`, which execs: the pid stays the
// program's, so signals reach it).
std::vector<std::string> InHost(const Host& host, std::vector<std::string> argv);

// The bridge lives in a namespace of its own, so that nothing the root namespace does to
// bridged traffic (Docker's br_netfilter with a FORWARD policy of DROP) applies, and this
// process reaches every host through one more link into it. Each LAN takes a /24 of
// 198.18.0.0/15 (RFC 2544's range for benchmarks) that no other live one holds. Not
// thread-safe; the namespaces and links go away, with any process still in them, when the
// object does.
class NetnsLan {
 public:
  // Why this machine cannot make a LAN (not root, no `ip`, namespaces refused), as a
  // sentence for a test's skip; "" if it can.
  static std::string Unavailable();

  // One host per name, addressed .1, .2, ... in the order given; throws if `ip` fails.
  explicit NetnsLan(const std::vector<std::string>& names);
  ~NetnsLan();
  NetnsLan(const NetnsLan&) = delete;
  NetnsLan& operator=(const NetnsLan&) = delete;

  const Host& host(const std::string& name) const { return hosts_.at(name); }
  // SIGKILL to every process in the host's namespace, as when its machine dies; returns
  // how many there were.
  int KillEverything(const std::string& name) const;

 private:
  void AddHost(const std::string& name, int index);
  std::string prefix_;  // of every namespace this LAN made
  std::string lan_netns_;
  std::string uplink_;  // this namespace's end of the link into the bridge
  std::string subnet_;  // "198.18.X."
  std::map<std::string, Host> hosts_;
};

}  // namespace batchq::test
