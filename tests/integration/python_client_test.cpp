// The Python client (clients/python) against a real stack: this test starts Redis, a
// broker, a gateway and a worker with keys and CURVE on, then runs the client's own
// live tests (clients/python/tests/test_live.py) in Debian's python3 against it.
#include <gtest/gtest.h>

#include "gpu_worker/python_handler.h"
#include "tests/support/stack.h"

namespace batchq::test {
namespace {

// Runs python3 with `args` and these environment variables; its exit code, and its
// stdout and stderr together in `output`.
int RunPython(const std::vector<std::string>& env, const std::vector<std::string>& args,
              std::string* output) {
  std::vector<std::string> argv = {"/bin/sh", "-c", "exec \"$@\" 2>&1", "sh", "/usr/bin/env"};
  argv.insert(argv.end(), env.begin(), env.end());
  argv.push_back(BATCHQ_PYTHON3);
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, output, std::chrono::minutes(5));
}

TEST(PythonClientTest, TheClientsLiveTestsPassAgainstARealStack) {
  if (!BuiltWithPython()) GTEST_SKIP() << "built without python3-dev and pybind11-dev";
  // Idle connections close after 300 ms, so that the client meets closed ones.
  Stack stack({.workers = 1,
               .broker_args = {"--type", "upper", "--type", "normalize", "--type", "parked"},
               .gateway_args = {"--idle-timeout-ms", "300"},
               .worker_args = {"--type", "upper", "--python-handler",
                               "normalize=" BATCHQ_PYTHON_EXAMPLES "/normalize_numpy.py"}});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  const std::string key = stack.CreateKey("python", "submit,read,cancel");
  std::string output;
  const int code = RunPython({"BATCHQ_TEST_URL=" + stack.url(), "BATCHQ_TEST_API_KEY=" + key,
                              "BATCHQ_TEST_IDLE_TIMEOUT_MS=300", "PYTHONPATH=" BATCHQ_PYTHON_CLIENT,
                              "PYTHONDONTWRITEBYTECODE=1"},
                             {"-m", "unittest", "discover", "-v", "-s",
                              BATCHQ_PYTHON_CLIENT "/tests", "-p", "test_live.py"},
                             &output);
  EXPECT_EQ(code, 0) << output << stack.Logs();
  EXPECT_NE(output.find("\nOK"), std::string::npos) << output;
  EXPECT_EQ(output.find("skipped"), std::string::npos) << "every live test ran:\n" << output;
}

}  // namespace
}  // namespace batchq::test
