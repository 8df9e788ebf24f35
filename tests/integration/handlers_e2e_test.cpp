// The real workloads end to end: `mlp` from a safetensors file, `render` PNGs served
// raw and saved by the CLI, a user's plugin and a user's Python file, each through
// gateway, broker and a worker process.
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include "gpu_worker/cpu_render_handler.h"
#include "gpu_worker/python_handler.h"
#include "gpu_worker/safetensors.h"
#include "tests/support/stack.h"

namespace batchq::test {
namespace {

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() / fmt::format("batchq-{}-{}", getpid(), name))
      .string();
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Submits `body` and waits; the job's final JSON.
std::string RunJob(HttpClient& client, const std::string& body) {
  auto response = client.PostJson("/v1/jobs", body);
  EXPECT_TRUE(response);
  if (!response) return "";
  EXPECT_EQ(response->status, 202) << response->body;
  return WaitTerminal(client, JsonString(response->body, "id"));
}

TEST(HandlersEndToEndTest, MlpFromASafetensorsFileGivesTheHandComputedOutputs) {
  // 2 -> 2 (ReLU) -> 1; by hand [1,2] -> 4.5 and [3,1] -> 13.5 (see mlp_test.cpp).
  const std::string weights = TempPath("mlp.safetensors");
  WriteFile(weights, WriteSafetensors({{"layers.0.weight", {2, 2}, {1, -1, 2, 0.5f}},
                                       {"layers.0.bias", {2}, {0, -1}},
                                       {"layers.1.weight", {1, 2}, {1, 2}},
                                       {"layers.1.bias", {1}, {0.5f}}}));
  Stack stack({.workers = 1,
               .broker_args = {"--type", "mlp"},
               .worker_args = {"--type", "mlp", "--mlp-weights", weights}});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto client = stack.Client();
  // One batch request: the bad items fail alone, the good ones succeed.
  auto response =
      client->PostJson("/v1/jobs:batch",
                       R"({"jobs":[{"type":"mlp","input":[1,2]},{"type":"mlp","input":[1,2,3]},)"
                       R"({"type":"mlp","input":"AABAQAAAgD8="},{"type":"mlp","input":[1,"x"]}]})");
  ASSERT_TRUE(response);
  ASSERT_EQ(response->status, 202) << response->body;
  const std::vector<std::string> ids = BatchIds(response->body);
  ASSERT_EQ(ids.size(), 4u) << response->body;
  std::vector<std::string> jobs;
  for (const auto& id : ids) jobs.push_back(WaitTerminal(*client, id));
  EXPECT_EQ(JsonString(jobs[0], "status"), "succeeded") << jobs[0];
  EXPECT_NE(jobs[0].find(R"("result":[4.5])"), std::string::npos) << jobs[0];
  EXPECT_EQ(JsonString(jobs[1], "error", "code"), "invalid_input") << jobs[1];
  // base64 of float32 {3, 1}, little-endian.
  EXPECT_NE(jobs[2].find(R"("result":[13.5])"), std::string::npos) << jobs[2];
  EXPECT_EQ(JsonString(jobs[3], "error", "code"), "invalid_input") << jobs[3];
  // A JSON result is also served at /result, as JSON.
  auto raw = client->Get("/v1/jobs/" + ids[0] + "/result");
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->status, 200);
  EXPECT_EQ(raw->body, "[4.5]");
  EXPECT_EQ(raw->Header("Content-Type"), "application/json");
  // A failed job has no result.
  auto none = client->Get("/v1/jobs/" + ids[1] + "/result");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 409);
  std::filesystem::remove(weights);
}

TEST(HandlersEndToEndTest, RenderedPngIsServedRawAndSavedByTheCli) {
  Stack stack(
      {.workers = 1, .broker_args = {"--type", "render"}, .worker_args = {"--type", "render"}});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto client = stack.Client();
  const std::string params = R"({"width":96,"height":64,"iterations":200,"colormap":"ocean"})";
  const std::string job = RunJob(*client, R"({"type":"render","input":)" + params + "}");
  ASSERT_EQ(JsonString(job, "status"), "succeeded") << job;
  EXPECT_EQ(JsonString(job, "result_type"), "image/png");
  const std::string id = JsonString(job, "id");
  EXPECT_EQ(JsonString(job, "result_url"), "/v1/jobs/" + id + "/result");
  EXPECT_EQ(JsonInt(job, "result", "width"), 96);

  auto raw = client->Get("/v1/jobs/" + id + "/result");
  ASSERT_TRUE(raw);
  ASSERT_EQ(raw->status, 200);
  EXPECT_EQ(raw->Header("Content-Type"), "image/png");
  EXPECT_EQ(static_cast<std::int64_t>(raw->body.size()), JsonInt(job, "result", "bytes"));
  // The very PNG the CPU renderer makes for these parameters.
  auto reference = MakeCpuRenderHandler()->Run(std::vector<std::string_view>{params});
  ASSERT_TRUE(reference && (*reference)[0]);
  EXPECT_EQ(raw->body, (*reference)[0]->blob);

  const std::string out = TempPath("render.png");
  std::string stdout_text;
  EXPECT_EQ(RunCommand({BATCHQ_CLI_BIN, "--url", stack.url(), "--api-key-file",
                        stack.admin_key_file(), "wait", id, "-o", out},
                       &stdout_text),
            0);
  EXPECT_EQ(ReadFile(out), raw->body);
  std::filesystem::remove(out);
  // submit --wait -o does the same in one step.
  EXPECT_EQ(RunCommand({BATCHQ_CLI_BIN, "--url", stack.url(), "--api-key-file",
                        stack.admin_key_file(), "submit", "render", params, "--wait", "-o", out},
                       &stdout_text),
            0);
  EXPECT_EQ(ReadFile(out), raw->body);
  std::filesystem::remove(out);
}

TEST(HandlersEndToEndTest, PluginTypeIsServedThroughTheGateway) {
  Stack stack({.workers = 1,
               .broker_args = {"--type", "upper", "--type", "vector_stats"},
               .worker_args = {"--type", "upper", "--handler-lib", BATCHQ_EXAMPLE_PLUGIN}});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto client = stack.Client();
  auto types = client->Get("/v1/types");
  ASSERT_TRUE(types);
  EXPECT_NE(types->body.find(R"("name":"vector_stats")"), std::string::npos) << types->body;
  const std::string good = RunJob(*client, R"({"type":"vector_stats","input":[1,2,3]})");
  EXPECT_EQ(JsonString(good, "status"), "succeeded") << good;
  EXPECT_NE(good.find(R"("result":{"count":3,"sum":6,"mean":2,"min":1,"max":3})"),
            std::string::npos)
      << good;
  const std::string bad = RunJob(*client, R"({"type":"vector_stats","input":"nope"})");
  EXPECT_EQ(JsonString(bad, "error", "code"), "invalid_input") << bad;
  // The built-in type on the same worker still works.
  EXPECT_EQ(JsonString(RunJob(*client, R"({"type":"upper","input":"ok"})"), "status"), "succeeded");
}

TEST(HandlersEndToEndTest, APythonFileServesItsTypeAndTheWorkerLivesThroughALongCall) {
  if (!BuiltWithPython()) GTEST_SKIP() << "built without python3-dev and pybind11-dev";
  // Holds the GIL for 3 s, past three missed heartbeats (0.9 s): the worker's heartbeat
  // runs on a thread of its own, so the broker must not declare it dead.
  const std::string busy = TempPath("busy.py");
  WriteFile(busy,
            "import time\n"
            "def handle_batch(inputs):\n"
            "    end = time.monotonic() + 3.0\n"
            "    while time.monotonic() < end:\n"
            "        pass\n"
            "    return [len(inputs)] * len(inputs)\n");
  Stack stack({.workers = 1,
               .broker_args = {"--type", "upper", "--type", "normalize", "--type", "busy",
                               "--heartbeat-ms", "300", "--heartbeat-liveness", "3"},
               .worker_args = {"--type", "upper", "--heartbeat-ms", "300", "--python-handler",
                               "normalize=" BATCHQ_PYTHON_EXAMPLES "/normalize_numpy.py",
                               "--python-handler", "busy=" + busy}});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto client = stack.Client();
  const std::string good = RunJob(*client, R"({"type":"normalize","input":[3,4]})");
  EXPECT_EQ(JsonString(good, "status"), "succeeded") << good << stack.Logs();
  EXPECT_NE(good.find(R"("result":{"norm":5.0,"unit":[0.6,0.8]})"), std::string::npos) << good;
  const std::string bad = RunJob(*client, R"({"type":"normalize","input":"nope"})");
  EXPECT_EQ(JsonString(bad, "status"), "failed") << bad;
  EXPECT_EQ(JsonString(bad, "error", "code"), "handler_error") << bad;
  EXPECT_EQ(JsonString(bad, "error", "message"),
            "ValueError: the input must be a non-empty list of numbers");

  const std::string long_call = RunJob(*client, R"({"type":"busy","input":1})");
  EXPECT_EQ(JsonString(long_call, "status"), "succeeded") << long_call << stack.Logs();
  EXPECT_EQ(JsonInt(long_call, "attempts"), 1) << "the worker was never declared dead";
  EXPECT_EQ(JsonString(RunJob(*client, R"({"type":"upper","input":"ok"})"), "status"), "succeeded");
  std::filesystem::remove(busy);
}

// The numbers of each `key` array in a JSON array of objects (or in one object).
std::vector<std::vector<double>> NumberArrays(const std::string& json, const char* key) {
  simdjson::dom::parser parser;
  const simdjson::dom::element root = parser.parse(json);
  std::vector<std::vector<double>> out;
  const auto read = [&](simdjson::dom::element object) {
    std::vector<double> numbers;
    for (const simdjson::dom::element x : object[key].get_array())
      numbers.push_back(x.get_double());
    out.push_back(std::move(numbers));
  };
  if (root.is_array()) {
    for (const simdjson::dom::element item : root.get_array()) read(item);
  } else {
    read(root);
  }
  return out;
}

TEST(HandlersEndToEndTest, APyTorchModelAnswersAsTheSameModelCalledDirectlyInPython) {
  if (!BuiltWithPython()) GTEST_SKIP() << "built without python3-dev and pybind11-dev";
  const std::string example = BATCHQ_PYTHON_EXAMPLES "/mlp_torch.py";
  if (RunCommand({BATCHQ_PYTHON3, "-c", "import torch"}, nullptr) != 0) {
    GTEST_SKIP() << "python3-torch is not installed";
  }
  const std::vector<std::string> inputs = {
      "[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]", "[0.5,-1,2.25,0,0,0,0,0,0,0,0,0,0,0,0,1e-3]",
      "[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]", "[-3,2,-1,0.5,7,0,0,0,0,0,0,0,0,0,9,-9]"};
  std::string reference;
  ASSERT_EQ(RunCommand({BATCHQ_PYTHON3, "-c",
                        fmt::format("import json, runpy, numpy as np\n"
                                    "m = runpy.run_path('{}')\n"
                                    "m['setup']('')\n"
                                    "xs = [np.asarray(x, dtype=np.float32) for x in [{}]]\n"
                                    "print(json.dumps(m['handle_batch'](xs)))\n",
                                    example, fmt::join(inputs, ","))},
                       &reference),
            0);
  const auto expected = NumberArrays(reference, "embedding");
  ASSERT_EQ(expected.size(), inputs.size()) << reference;

  Stack stack({.workers = 1,
               .broker_args = {"--type", "embed"},
               .worker_args = {"--python-handler", "embed=" + example}});
  ASSERT_TRUE(stack.WaitReady(1)) << stack.Logs();
  auto client = stack.Client();
  std::string body = R"({"jobs":[)";
  for (const auto& input : inputs) body += R"({"type":"embed","input":)" + input + "},";
  body += R"({"type":"embed","input":[1,2]}]})";
  auto response = client->PostJson("/v1/jobs:batch", body);
  ASSERT_TRUE(response);
  ASSERT_EQ(response->status, 202) << response->body;
  const std::vector<std::string> ids = BatchIds(response->body);
  ASSERT_EQ(ids.size(), inputs.size() + 1) << response->body;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::string job = WaitTerminal(*client, ids[i]);
    ASSERT_EQ(JsonString(job, "status"), "succeeded") << job << stack.Logs();
    auto result = client->Get("/v1/jobs/" + ids[i] + "/result");
    ASSERT_TRUE(result);
    const auto got = NumberArrays(result->body, "embedding");
    ASSERT_EQ(got[0].size(), expected[i].size()) << result->body;
    for (std::size_t k = 0; k < got[0].size(); ++k) {
      // float32 sums may round differently in a batch of another size.
      EXPECT_NEAR(got[0][k], expected[i][k], 1e-4 * (1 + std::abs(expected[i][k])))
          << "input " << i << ", output " << k;
    }
  }
  const std::string wrong = WaitTerminal(*client, ids.back());
  EXPECT_EQ(JsonString(wrong, "error", "code"), "handler_error") << wrong;
  EXPECT_EQ(JsonString(wrong, "error", "message"),
            "ValueError: the input must be a list of 16 numbers");
}

TEST(HandlersEndToEndTest, MalformedWeightsOrPluginStopTheWorkerAtStartWithTheReason) {
  const std::string garbage = TempPath("garbage.safetensors");
  WriteFile(garbage, std::string("\x10\0\0\0\0\0\0\0{\"x\":1}", 16));
  const std::string log = TempPath("worker.log");
  for (const auto& [args, reason] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--type", "mlp", "--mlp-weights", garbage}, "Malformed safetensors"},
           {{"--type", "upper", "--handler-lib", "/nonexistent/lib.so"}, "Cannot load handler"},
           {{"--type", "upper", "--python-handler", "py=/nonexistent/handler.py"},
            BuiltWithPython() ? "No such file" : "built without Python"},
           {{"--type", "upper", "--python-handler", "not a type=x.py"}, "not a job type name"},
           {{"--type", "mlp", "--mlp-widths", "4"}, "at least an input and an output"}}) {
    std::vector<std::string> argv = {BATCHQ_WORKER_BIN, "--broker", "tcp://127.0.0.1:1",
                                     "--no-curve"};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess worker(argv, log);
    const int status = worker.Wait(std::chrono::seconds(30));
    ASSERT_TRUE(WIFEXITED(status)) << status;
    EXPECT_EQ(WEXITSTATUS(status), 1);
    EXPECT_NE(worker.ReadLog().find(reason), std::string::npos) << worker.ReadLog();
  }
  std::filesystem::remove(garbage);
  std::filesystem::remove(log);
}

}  // namespace
}  // namespace batchq::test
