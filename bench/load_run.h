#pragma once
// One `batchq bench` run against a test-harness stack, with the CPU each part of the
// stack (and the load generator) spent during it: what the stack benchmarks share.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench/process_cpu.h"
#include "tests/support/stack.h"

namespace batchq::bench {

// The load generator: this build's `batchq`, or the binary BATCHQ_BENCH_CLI names (to
// compare two generators against the same stack).
inline std::string LoadGeneratorBinary() {
  const char* other = std::getenv("BATCHQ_BENCH_CLI");
  return other != nullptr && *other != '\0' ? other : BATCHQ_CLI_BIN;
}

// `batchq bench ARGS...` (with the stack's URL and admin key, JSON output); its report and
// the CPU spent as `"bench":{...},"cpu_s":{...}`, or "" (said on stderr) if it failed.
inline std::string RunLoad(test::Stack& stack, int workers, const std::vector<std::string>& args) {
  std::vector<std::string> argv{LoadGeneratorBinary(),  "--url",    stack.url(), "--api-key-file",
                                stack.admin_key_file(), "--output", "json",      "bench"};
  argv.insert(argv.end(), args.begin(), args.end());
  const CpuSample before = SampleCpu(stack, workers);
  const auto start = std::chrono::steady_clock::now();
  std::string report;
  const int status = test::RunCommand(argv, &report, std::chrono::seconds(400));
  const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - start;
  const CpuSample after = SampleCpu(stack, workers);
  if (status != 0) {
    std::fprintf(stderr, "batchq bench exited %d: %s\n", status, report.c_str());
    return "";
  }
  while (!report.empty() && report.back() == '\n') report.pop_back();
  return fmt::format(R"("bench":{},"cpu_s":{})", report.substr(report.rfind('\n') + 1),
                     CpuJson(before, after, wall.count()));
}

}  // namespace batchq::bench
