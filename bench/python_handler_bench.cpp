// What the Python boundary costs a batch: the same handle_batch run through the worker's
// PythonHandler (JSON texts in: one json.loads of the batch, the GIL, the call, one
// json.dumps per result) against the same function called directly in Python on the
// decoded inputs (a python3 subprocess timing the call alone). A file that asks for
// NumPy inputs gets arrays made in C++ through the handler, and arrays made beforehand in
// the direct call, so the difference is what the boundary adds. Median of --repeats
// calls per batch size; one JSON line per size.
//   python_handler_bench [--repeats 2000] [--width 16] [--file F --handler-config TEXT]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <fmt/format.h>

#include "common/command_line.h"
#include "gpu_worker/python_handler.h"

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kHandler = R"(
def handle_batch(inputs):
    return [sum(x) for x in inputs]
)";

// The direct call's median in µs, timed by Python itself, on the inputs as the handler
// receives them (NumPy arrays for a file that sets INPUTS = "numpy"), after setup().
// `scratch` is a path prefix for the files this writes.
double DirectMicros(const std::string& file, const std::string& config, const std::string& scratch,
                    const std::string& array, int repeats) {
  const std::string script = fmt::format(
      "import json, runpy, statistics, time\n"
      "m = runpy.run_path('{0}')\n"
      "if 'setup' in m: m['setup'](open('{1}.config').read())\n"
      "f = m['handle_batch']\n"
      "x = json.loads(open('{1}.json').read())\n"
      "if m.get('INPUTS') == 'numpy':\n"
      "    import numpy as np\n"
      "    x = [np.asarray(v, dtype=m.get('INPUT_DTYPE', 'float64')) for v in x]\n"
      "t = []\n"
      "for _ in range({2}):\n"
      "    s = time.perf_counter(); f(x); t.append(time.perf_counter() - s)\n"
      "print(statistics.median(t) * 1e6)\n",
      file, scratch, repeats);
  std::ofstream(scratch + ".config") << config;
  std::ofstream(scratch + ".json") << array;
  std::ofstream(scratch + ".direct.py") << script;
  FILE* out = popen(("/usr/bin/python3 " + scratch + ".direct.py").c_str(), "r");
  if (out == nullptr) return -1;
  char line[64] = {};
  const bool read = std::fgets(line, sizeof line, out) != nullptr;
  pclose(out);
  return read ? std::stod(line) : -1;
}

}  // namespace

int main(int argc, char** argv) {
  batchq::CommandLine command_line{
      "batchq Python handler bench: the boundary's cost per batch and per item"};
  int repeats = 2000;
  int width = 16;
  std::string handler_file;
  std::string config;
  command_line.Option("--repeats", repeats, "Calls per batch size").ShowDefault();
  command_line.Option("--width", width, "Floats per input vector").ShowDefault();
  command_line.Option("--file", handler_file,
                      "A handler file to measure (default: one that sums each vector)");
  command_line.Option("--handler-config", config, "What the file's setup() is given");
  if (const auto exit_code = command_line.Parse(argc, argv)) return *exit_code;
  if (!batchq::BuiltWithPython()) {
    std::fprintf(stderr, "this build has no Python handlers (python3-dev, pybind11-dev)\n");
    return 2;
  }
  const std::string scratch =
      (std::filesystem::temp_directory_path() / fmt::format("batchq-pybench-{}", getpid()))
          .string();
  const std::string file = handler_file.empty() ? scratch + ".py" : handler_file;
  if (handler_file.empty()) std::ofstream(file) << kHandler;
  auto handler = batchq::LoadPythonHandler(file, config);
  if (!handler) {
    std::fprintf(stderr, "%s\n", handler.error().message.c_str());
    return 1;
  }
  std::string vector = "[";
  for (int i = 0; i < width; ++i) vector += fmt::format("{}{}.5", i ? "," : "", i);
  vector += "]";
  for (const int size : {1, 8, 64, 512}) {
    const std::vector<std::string> texts(static_cast<std::size_t>(size), vector);
    const std::vector<std::string_view> inputs(texts.begin(), texts.end());
    std::vector<double> micros;
    const int calls = std::max(50, repeats * 8 / std::max(8, size));
    for (int i = 0; i < calls; ++i) {
      const auto start = Clock::now();
      const auto results = (*handler)->Run(inputs);
      micros.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
      if (!results) {
        std::fprintf(stderr, "%s\n", results.error().message.c_str());
        return 1;
      }
    }
    std::nth_element(micros.begin(), micros.begin() + calls / 2, micros.end());
    const double through = micros[static_cast<std::size_t>(calls / 2)];
    std::string array = "[";
    for (int i = 0; i < size; ++i) array += (i ? "," : "") + vector;
    array += "]";
    const double direct = DirectMicros(file, config, scratch, array, calls);
    std::printf(
        "{\"batch\":%d,\"width\":%d,\"calls\":%d,\"through_handler_us\":%.2f,"
        "\"direct_us\":%.2f,\"boundary_us_per_batch\":%.2f,\"boundary_us_per_item\":%.3f}\n",
        size, width, calls, through, direct, through - direct, (through - direct) / size);
    std::fflush(stdout);
  }
  handler->reset();
  for (const char* suffix : {".py", ".config", ".json", ".direct.py"}) {
    std::filesystem::remove(scratch + suffix);
  }
  return 0;
}
