// Python batch handlers in this process's embedded interpreter: what handle_batch's
// entries become, and every way a file or a call can fail without taking the worker down.
#include "gpu_worker/python_handler.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace batchq {
namespace {

class PythonHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!BuiltWithPython()) GTEST_SKIP() << "built without python3-dev and pybind11-dev";
    dir_ = std::filesystem::temp_directory_path() /
           fmt::format("batchq-python-{}-{}", getpid(), ++counter_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& source) {
    const auto path = (dir_ / name).string();
    std::ofstream(path) << source;
    return path;
  }
  static Result<std::vector<ItemResult>> Run(Handler& handler,
                                             const std::vector<std::string_view>& inputs) {
    return handler.Run(inputs);
  }

  std::filesystem::path dir_;
  static inline int counter_ = 0;
};

TEST_F(PythonHandlerTest, EachEntryBecomesItsJobsResultBinaryOrError) {
  const std::string file = Write("model.py", R"(
prefix = None
def setup(config):
    global prefix
    prefix = config

def handle_batch(inputs):
    out = []
    for x in inputs:
        if x == "boom":
            out.append(ValueError("no boom here"))
        elif x == "png":
            out.append((b"\x89PNG", "image/png"))
        elif x == "raw":
            out.append(b"\x00\x01\x02")
        elif isinstance(x, dict):
            out.append({"sum": x["a"] + x["b"], "prefix": prefix})
        elif isinstance(x, str):
            out.append(x.upper())
        else:
            out.append(x * 2)
    return out
)");
  auto handler = LoadPythonHandler(file, "cfg");
  ASSERT_TRUE(handler) << handler.error().message;
  const auto results = Run(**handler, {R"("abc")", R"({"a":1,"b":2})", R"("boom")", R"("png")",
                                       R"("raw")", "21", R"("é")"});
  ASSERT_TRUE(results) << results.error().message;
  ASSERT_EQ(results->size(), 7u);
  EXPECT_EQ((*results)[0]->json, R"("ABC")");
  EXPECT_EQ((*results)[1]->json, R"({"sum":3,"prefix":"cfg"})") << "setup() saw the config";
  ASSERT_FALSE((*results)[2]);
  EXPECT_EQ((*results)[2].error().code, ErrorCode::kHandlerError);
  EXPECT_EQ((*results)[2].error().message, "ValueError: no boom here");
  EXPECT_EQ((*results)[3]->blob, "\x89PNG");
  EXPECT_EQ((*results)[3]->content_type, "image/png");
  EXPECT_EQ((*results)[4]->blob, std::string("\x00\x01\x02", 3));
  EXPECT_EQ((*results)[4]->content_type, "application/octet-stream");
  EXPECT_EQ((*results)[4]->json, R"({"bytes":3})");
  EXPECT_EQ((*results)[5]->json, "42");
  EXPECT_EQ((*results)[6]->json, R"("É")") << "UTF-8 kept as it is";
}

TEST_F(PythonHandlerTest, AnExceptionsBatchqCodeNamesItsErrorWhenTheTableHasIt) {
  const std::string file = Write("flaky.py", R"(
class Busy(Exception):
    batchq_code = "transient_error"

class Odd(Exception):
    batchq_code = "no_such_code"

def handle_batch(inputs):
    return [Busy("try later") if x == 1 else Odd("odd") for x in inputs]
)");
  auto handler = LoadPythonHandler(file, "");
  ASSERT_TRUE(handler) << handler.error().message;
  const auto results = Run(**handler, {"1", "2"});
  ASSERT_TRUE(results) << results.error().message;
  ASSERT_EQ(results->size(), 2u);
  ASSERT_FALSE((*results)[0]);
  EXPECT_EQ((*results)[0].error().code, ErrorCode::kTransientError);
  EXPECT_EQ((*results)[0].error().message, "Busy: try later");
  ASSERT_FALSE((*results)[1]);
  EXPECT_EQ((*results)[1].error().code, ErrorCode::kHandlerError) << "a code the table lacks";
}

TEST_F(PythonHandlerTest, ARaisingBatchFailsWholeWithItsTypeAndMessageAndTheHandlerLivesOn) {
  const std::string file = Write("flaky.py", R"(
calls = 0
def handle_batch(inputs):
    global calls
    calls += 1
    if calls == 1:
        raise RuntimeError("model not ready")
    return [len(inputs)] * len(inputs)
)");
  auto handler = LoadPythonHandler(file, "");
  ASSERT_TRUE(handler) << handler.error().message;
  const auto failed = Run(**handler, {"1", "2"});
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kHandlerError);
  EXPECT_EQ(failed.error().message, "RuntimeError: model not ready");
  const auto next = Run(**handler, {"1", "2"});
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ((*next)[1]->json, "2");
}

TEST_F(PythonHandlerTest, AnAnswerOfTheWrongShapeFailsTheBatchWithASentence) {
  const std::string file = Write("shape.py", R"(
def handle_batch(inputs):
    if inputs[0] == "short":
        return inputs[:-1]
    if inputs[0] == "dict":
        return {"not": "a list"}
    return "a string is no list"
)");
  auto handler = LoadPythonHandler(file, "");
  ASSERT_TRUE(handler) << handler.error().message;
  const auto short_list = Run(**handler, {R"("short")", "2", "3"});
  ASSERT_FALSE(short_list);
  EXPECT_EQ(short_list.error().message,
            "handle_batch returned 2 entries for 3 inputs; it must return one per input, in "
            "order.");
  const auto dict = Run(**handler, {R"("dict")"});
  ASSERT_FALSE(dict);
  EXPECT_NE(dict.error().message.find("returned a dict"), std::string::npos)
      << dict.error().message;
  const auto text = Run(**handler, {R"("text")"});
  ASSERT_FALSE(text);
  EXPECT_NE(text.error().message.find("returned a str"), std::string::npos);
}

TEST_F(PythonHandlerTest, AResultThatIsNotJsonFailsItsItemAlone) {
  const std::string file = Write("values.py", R"(
def handle_batch(inputs):
    return [{1, 2}, float("nan"), "fine"]
)");
  auto handler = LoadPythonHandler(file, "");
  ASSERT_TRUE(handler) << handler.error().message;
  const auto results = Run(**handler, {"1", "2", "3"});
  ASSERT_TRUE(results) << results.error().message;
  ASSERT_FALSE((*results)[0]);
  EXPECT_NE((*results)[0].error().message.find("not JSON: TypeError"), std::string::npos)
      << (*results)[0].error().message;
  ASSERT_FALSE((*results)[1]);
  EXPECT_NE((*results)[1].error().message.find("ValueError"), std::string::npos);
  EXPECT_EQ((*results)[2]->json, R"("fine")");
}

TEST_F(PythonHandlerTest, AFileThatCannotServeIsRefusedWithPythonsOwnMessage) {
  const auto refused = [](const Result<std::unique_ptr<Handler>>& loaded) {
    EXPECT_FALSE(loaded);
    if (loaded) return std::string();
    EXPECT_EQ(loaded.error().code, ErrorCode::kInvalidPlugin);
    return loaded.error().message;
  };
  EXPECT_NE(
      refused(LoadPythonHandler(Write("none.py", "x = 1\n"), "")).find("defines no handle_batch"),
      std::string::npos);
  EXPECT_NE(refused(LoadPythonHandler(Write("syntax.py", "def handle_batch(:\n"), ""))
                .find("SyntaxError"),
            std::string::npos);
  EXPECT_NE(refused(LoadPythonHandler((dir_ / "missing.py").string(), "")).find("No such file"),
            std::string::npos);
  EXPECT_NE(refused(LoadPythonHandler(Write("setup.py", R"(
def setup(config):
    raise KeyError(config)
def handle_batch(inputs):
    return inputs
)"),
                                      "weights.bin"))
                .find("KeyError: 'weights.bin'"),
            std::string::npos);
}

TEST_F(PythonHandlerTest, AFileImportsWhatLiesBesideIt) {
  Write("helper.py", "def double(x):\n    return 2 * x\n");
  const std::string file = Write("uses_helper.py", R"(
import helper
def handle_batch(inputs):
    return [helper.double(x) for x in inputs]
)");
  auto handler = LoadPythonHandler(file, "");
  ASSERT_TRUE(handler) << handler.error().message;
  const auto results = Run(**handler, {"4"});
  ASSERT_TRUE(results) << results.error().message;
  EXPECT_EQ((*results)[0]->json, "8");
}

TEST_F(PythonHandlerTest, AFileThatAsksForNumpyGetsNumericInputsAsArraysOfItsDtype) {
  const std::string file = Write("shapes.py", R"(
import numpy as np
INPUTS = "numpy"
INPUT_DTYPE = "float32"
def handle_batch(inputs):
    out = []
    for x in inputs:
        if isinstance(x, np.ndarray):
            out.append({"dtype": str(x.dtype), "shape": list(x.shape), "sum": float(x.sum())})
        else:
            out.append({"decoded": x})
    return out
)");
  auto handler = LoadPythonHandler(file, "");
  ASSERT_TRUE(handler) << handler.error().message;
  const auto results =
      Run(**handler, {"[1, 2.5]", R"({"a":[1]})", "[[1,2],[3,4],[5,6]]", "[1, true]", "7"});
  ASSERT_TRUE(results) << results.error().message;
  ASSERT_EQ(results->size(), 5u);
  EXPECT_EQ((*results)[0]->json, R"({"dtype":"float32","shape":[2],"sum":3.5})");
  EXPECT_EQ((*results)[1]->json, R"({"decoded":{"a":[1]}})") << "the rest arrive decoded";
  EXPECT_EQ((*results)[2]->json, R"({"dtype":"float32","shape":[3,2],"sum":21.0})");
  EXPECT_EQ((*results)[3]->json, R"({"decoded":[1,true]})");
  EXPECT_EQ((*results)[4]->json, R"({"decoded":7})");

  const std::string wide = Write("wide.py", R"(
INPUTS = "numpy"
def handle_batch(inputs):
    return [str(x.dtype) for x in inputs]
)");
  auto float64 = LoadPythonHandler(wide, "");
  ASSERT_TRUE(float64) << float64.error().message;
  const auto dtypes = Run(**float64, {"[0.1]"});
  ASSERT_TRUE(dtypes) << dtypes.error().message;
  EXPECT_EQ((*dtypes)[0]->json, R"("float64")") << "float64 unless the file says otherwise";
}

TEST_F(PythonHandlerTest, ResultsReadAsPythonsJsonEncoderWritesThem) {
  const std::string file = Write("values.py", R"(
import collections, enum, numpy as np
class Level(enum.IntEnum):
    HIGH = 3
VALUES = [
    [0.1, 1e-07, 1e16, 5.0, -0.0, 123456789.125, 2.5e-320],
    [2**63 - 1, -2**63, True, False, None, Level.HIGH],
    {"é": "line\nbreak \"quoted\" \\ tab\t \x01", "nested": {"t": (1, [2, {}])}},
    collections.OrderedDict([("b", 1), ("a", 2)]),
    np.array([[1.5, 2.0], [0.1, -3.0]], dtype=np.float32),
    np.float64(0.2),
    2**64,
    {1: "int key"},
    float("nan"),
    object(),
]
def handle_batch(inputs):
    return VALUES[:len(inputs)]
)");
  auto handler = LoadPythonHandler(file, "");
  ASSERT_TRUE(handler) << handler.error().message;
  const std::vector<std::string_view> inputs(10, "0");
  const auto results = Run(**handler, inputs);
  ASSERT_TRUE(results) << results.error().message;
  ASSERT_EQ(results->size(), 10u);
  EXPECT_EQ((*results)[0]->json, "[0.1,1e-07,1e+16,5.0,-0.0,123456789.125,2.5e-320]");
  EXPECT_EQ((*results)[1]->json, "[9223372036854775807,-9223372036854775808,true,false,null,3]");
  EXPECT_EQ((*results)[2]->json,
            R"({"é":"line\nbreak \"quoted\" \\ tab\t \u0001","nested":{"t":[1,[2,{}]]}})");
  EXPECT_EQ((*results)[3]->json, R"({"b":1,"a":2})");
  EXPECT_EQ((*results)[4]->json, "[[1.5,2.0],[0.10000000149011612,-3.0]]");
  EXPECT_EQ((*results)[5]->json, "0.2");
  // Past what C++ writes, Python's encoder: the same text, or its reason.
  EXPECT_EQ((*results)[6]->json, "18446744073709551616");
  EXPECT_EQ((*results)[7]->json, R"({"1":"int key"})");
  ASSERT_FALSE((*results)[8]);
  EXPECT_NE((*results)[8].error().message.find("not JSON"), std::string::npos);
  ASSERT_FALSE((*results)[9]);
  EXPECT_NE((*results)[9].error().message.find("not JSON serializable"), std::string::npos)
      << (*results)[9].error().message;
}

TEST_F(PythonHandlerTest, FloatsReadAsPythonsReprOfThemAcrossTheirWholeRange) {
  // Doubles from random bits (every exponent, subnormals included), and round figures.
  const std::string file = Write("floats.py", R"(
import math, random, struct
random.seed(7)
xs = [x for x in (struct.unpack("<d", struct.pack("<Q", random.getrandbits(64)))[0]
                  for _ in range(20000)) if math.isfinite(x)]
xs += [10.0 ** k for k in range(-20, 21)] + [1.5 * 10.0 ** k for k in range(-8, 20)]
xs += [0.0, -0.0, 5e-324, 1.7976931348623157e308, 0.1 + 0.2, 1 / 3, 123456.0]
def handle_batch(inputs):
    return [xs, ",".join(repr(x) for x in xs)]
)");
  auto handler = LoadPythonHandler(file, "");
  ASSERT_TRUE(handler) << handler.error().message;
  const auto results = Run(**handler, {"0", "0"});
  ASSERT_TRUE(results) << results.error().message;
  const std::string& reprs = (*results)[1]->json;
  ASSERT_GT(reprs.size(), 2u);
  const std::string expected = "[" + reprs.substr(1, reprs.size() - 2) + "]";
  const std::string& got = (*results)[0]->json;
  if (got != expected) {
    std::size_t at = 0;
    while (at < got.size() && at < expected.size() && got[at] == expected[at]) ++at;
    const std::size_t from = at < 40 ? 0 : at - 40;
    FAIL() << "first difference at " << at << ":\n  C++:    " << got.substr(from, 100)
           << "\n  Python: " << expected.substr(from, 100);
  }
}

TEST_F(PythonHandlerTest, AnInputFormItCannotGiveIsRefusedAtLoad) {
  const auto inputs = LoadPythonHandler(
      Write("a.py", "INPUTS = 'arrow'\ndef handle_batch(inputs):\n    return inputs\n"), "");
  ASSERT_FALSE(inputs);
  EXPECT_EQ(inputs.error().code, ErrorCode::kInvalidPlugin);
  EXPECT_NE(inputs.error().message.find(R"(INPUTS = "arrow")"), std::string::npos)
      << inputs.error().message;
  const auto dtype =
      LoadPythonHandler(Write("b.py",
                              "INPUTS = 'numpy'\nINPUT_DTYPE = 'int8'\ndef handle_batch(inputs):\n"
                              "    return inputs\n"),
                        "");
  ASSERT_FALSE(dtype);
  EXPECT_NE(dtype.error().message.find(R"(INPUT_DTYPE = "int8")"), std::string::npos)
      << dtype.error().message;
}

TEST(PythonHandlerSpecTest, TakesTypeEqualsFileAndRefusesTheRest) {
  const auto spec = ParsePythonHandlerSpec("embed=models/embed.py");
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->type, "embed");
  EXPECT_EQ(spec->file, "models/embed.py");
  EXPECT_FALSE(ParsePythonHandlerSpec("models/embed.py"));
  EXPECT_FALSE(ParsePythonHandlerSpec("embed="));
  EXPECT_FALSE(ParsePythonHandlerSpec("bad type=x.py"));
  EXPECT_EQ(ParsePythonHandlerSpec("=x.py").error().code, ErrorCode::kInvalidSetting);
}

}  // namespace
}  // namespace batchq
