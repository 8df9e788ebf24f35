#pragma once
// CPU time of a test-harness stack's processes, for benchmarks that say where the time
// went: each process's user + system seconds from /proc, and this process's reaped
// children's (a load generator run to completion) from getrusage.

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include "tests/support/stack.h"

namespace batchq::bench {

// The fields of /proc/PID/stat after the command name (which may hold spaces), from the
// third (state) on; empty if unreadable.
inline std::istringstream StatFields(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string text((std::istreambuf_iterator<char>(in)), {});
  const auto close = text.rfind(')');
  return std::istringstream(close == std::string::npos ? "" : text.substr(close + 2));
}

// User + system CPU seconds of a live process, from /proc/PID/stat; 0 if unreadable.
inline double CpuSeconds(pid_t pid) {
  std::istringstream fields = StatFields(pid);
  std::string skip;
  for (int i = 3; i < 14; ++i) fields >> skip;  // state .. cmajflt
  double user = 0;
  double system = 0;
  fields >> user >> system;
  return (user + system) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The parent's pid in /proc/PID/stat; -1 if unreadable.
inline pid_t ParentPid(pid_t pid) {
  std::istringstream fields = StatFields(pid);
  std::string state;
  pid_t parent = -1;
  fields >> state >> parent;
  return parent;
}

// CPU seconds of a live process and of its live children (nginx's master and its
// workers): the reference server's own CPU, read as the stack's is.
inline double ProcessFamilyCpuSeconds(pid_t root) {
  double seconds = CpuSeconds(root);
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    if (ParentPid(pid) == root) seconds += CpuSeconds(pid);
  }
  return seconds;
}

inline double ChildrenCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_CHILDREN, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// CPU seconds so far of each part of the stack, and of this process's reaped children.
struct CpuSample {
  double broker = 0;
  double gateway = 0;
  double redis = 0;
  double workers = 0;
  double children = 0;
};

inline CpuSample SampleCpu(test::Stack& stack, int workers) {
  CpuSample sample;
  sample.broker = CpuSeconds(stack.broker().pid());
  sample.gateway = CpuSeconds(stack.gateway().pid());
  sample.redis = CpuSeconds(stack.redis().pid());
  for (int w = 0; w < workers; ++w) sample.workers += CpuSeconds(stack.worker(w).pid());
  sample.children = ChildrenCpuSeconds();
  return sample;
}

// What each part spent between the samples, as a JSON object.
inline std::string CpuJson(const CpuSample& before, const CpuSample& after, double wall_s) {
  return fmt::format(
      R"({{"wall_s":{:.3f},"broker":{:.3f},"gateway":{:.3f},"redis":{:.3f},"workers":{:.3f},)"
      R"("load_generator":{:.3f}}})",
      wall_s, after.broker - before.broker, after.gateway - before.gateway,
      after.redis - before.redis, after.workers - before.workers, after.children - before.children);
}

}  // namespace batchq::bench
