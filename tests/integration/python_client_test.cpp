// The Python client (clients/python) against a real stack: these tests start Redis, a
// broker, a gateway and a worker with keys and CURVE on, then run the client's own
// live tests (clients/python/tests/test_live.py) in Debian's python3 against it, and
// the FastAPI example (examples/fastapi) in uvicorn in front of it.
#include <algorithm>

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
               .gateway_args = {"--idle-timeout-ms", "300", "--webhook-allow", "127.0.0.1"},
               .worker_args = {"--type", "upper", "--python-handler",
                               "normalize=" BATCHQ_PYTHON_EXAMPLES "/normalize_numpy.py"}});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  // A key with a webhook secret: the live tests receive a signed webhook and verify it.
  const auto made = stack.Client()->PostJson(
      "/v1/keys", R"({"tenant":"python","scopes":"submit,read,cancel","webhook":true})");
  ASSERT_TRUE(made && made->status == 201);
  const std::string key = JsonString(made->body, "key");
  std::string output;
  const int code =
      RunPython({"BATCHQ_TEST_URL=" + stack.url(), "BATCHQ_TEST_API_KEY=" + key,
                 "BATCHQ_TEST_WEBHOOK_SECRET=" + JsonString(made->body, "webhook_secret"),
                 "BATCHQ_TEST_IDLE_TIMEOUT_MS=300", "PYTHONPATH=" BATCHQ_PYTHON_CLIENT,
                 "PYTHONDONTWRITEBYTECODE=1"},
                {"-m", "unittest", "discover", "-v", "-s", BATCHQ_PYTHON_CLIENT "/tests", "-p",
                 "test_live.py"},
                &output);
  EXPECT_EQ(code, 0) << output << stack.Logs();
  EXPECT_NE(output.find("\nOK"), std::string::npos) << output;
  EXPECT_EQ(output.find("skipped"), std::string::npos) << "every live test ran:\n" << output;
}

// Whether Debian's python3 can import every module named.
bool PythonHas(const std::string& modules) {
  return RunCommand({BATCHQ_PYTHON3, "-c", "import " + modules}, nullptr) == 0;
}

// A JSON array's numbers, as text, of `body`'s `key` (e.g. "embedding").
std::size_t CountNumbers(const std::string& body, const std::string& key) {
  const auto at = body.find("\"" + key + "\":[");
  if (at == std::string::npos) return 0;
  const auto end = body.find(']', at);
  const std::string numbers = body.substr(at, end - at);
  return numbers.empty() ? 0 : std::count(numbers.begin(), numbers.end(), ',') + 1;
}

TEST(PythonClientTest, TheFastApiExampleServesTheTorchModelThroughBatchq) {
  if (!BuiltWithPython()) GTEST_SKIP() << "built without python3-dev and pybind11-dev";
  if (!PythonHas("torch, fastapi, uvicorn")) {
    GTEST_SKIP() << "needs python3-torch, python3-fastapi and python3-uvicorn";
  }
  Stack stack(
      {.workers = 1,
       .broker_args = {"--type", "embed"},
       .worker_args = {"--python-handler", "embed=" BATCHQ_PYTHON_EXAMPLES "/mlp_torch.py"}});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  const int port = FreePort();
  ChildProcess app({"/usr/bin/env", "BATCHQ_URL=" + stack.url(),
                    "BATCHQ_API_KEY=" + stack.CreateKey("web", "submit,read"),
                    "PYTHONPATH=" BATCHQ_PYTHON_CLIENT, "PYTHONDONTWRITEBYTECODE=1", BATCHQ_PYTHON3,
                    "-m", "uvicorn", "--app-dir", BATCHQ_FASTAPI_EXAMPLE, "app:app", "--host",
                    "127.0.0.1", "--port", std::to_string(port)},
                   stack.dir() + "/fastapi.log");
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  std::unique_ptr<HttpClient> web;
  ASSERT_TRUE(WaitFor([&] {
    auto client = HttpClient::Connect(url, std::chrono::seconds(30));
    if (!client) return false;
    auto docs = (*client)->Get("/openapi.json");
    if (!docs || docs->status != 200) return false;
    web = std::move(*client);
    return true;
  })) << app.ReadLog();

  const std::string vector = "[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]";
  auto now = web->PostJson("/embed", R"({"vector":)" + vector + "}");
  ASSERT_TRUE(now);
  EXPECT_EQ(now->status, 200) << now->body << app.ReadLog() << stack.Logs();
  EXPECT_EQ(CountNumbers(now->body, "embedding"), 8u) << now->body;

  // Not waiting: a 202 with the job, then its state until it has the embedding.
  auto later = web->PostJson("/embed?wait_s=0", R"({"vector":)" + vector + "}");
  ASSERT_TRUE(later);
  ASSERT_EQ(later->status, 202) << later->body;
  const std::string status_url = JsonString(later->body, "status_url");
  std::string polled;
  EXPECT_TRUE(WaitFor([&] {
    auto state = web->Get(status_url);
    polled = state ? state->body : "";
    return JsonString(polled, "status") == "succeeded";
  })) << polled;
  EXPECT_EQ(CountNumbers(polled, "embedding"), 8u) << polled;

  auto many =
      web->PostJson("/embed:many", R"({"vectors":[)" + vector + "," + vector + "," + vector + "]}");
  ASSERT_TRUE(many);
  EXPECT_EQ(many->status, 200) << many->body;
  EXPECT_EQ(std::count(many->body.begin(), many->body.end(), '['), 4) << many->body;

  // The handler's refusal of a wrong shape keeps its sentence; FastAPI's own
  // validation still refuses what is not a vector before batchq sees it.
  auto wrong = web->PostJson("/embed", R"({"vector":[1,2,3]})");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 422);
  EXPECT_EQ(JsonString(wrong->body, "detail", "message"),
            "ValueError: the input must be a list of 16 numbers")
      << wrong->body;
  auto not_vector = web->PostJson("/embed", R"({"vector":"abc"})");
  ASSERT_TRUE(not_vector);
  EXPECT_EQ(not_vector->status, 422) << not_vector->body;
  auto unknown = web->Get("/embed/0123456789abcdef0123456789abcdef");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404) << unknown->body;
}

}  // namespace
}  // namespace batchq::test
