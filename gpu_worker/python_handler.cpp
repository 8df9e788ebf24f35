#include "gpu_worker/python_handler.h"

#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>

#include <fmt/format.h>
#include <pybind11/embed.h>
#include <pybind11/numpy.h>
#include <spdlog/spdlog.h>

#include "common/address_sanitizer.h"
#include "gpu_worker/numeric_array.h"
#include "gpu_worker/python_json.h"

#ifdef BATCHQ_ASAN
#include <sanitizer/lsan_interface.h>
#endif

namespace batchq {
namespace {

namespace py = pybind11;

// While alive, LeakSanitizer does not report what this thread allocates. CPython keeps
// its objects for the life of the process and is never finalised here, so everything it
// (or a module it imports) allocates would read as leaked at exit in the ASan build; our
// own allocations outside calls into Python are still checked.
class LeakCheckPause {
 public:
  LeakCheckPause() {
#ifdef BATCHQ_ASAN
    __lsan_disable();
#endif
  }
  ~LeakCheckPause() {
#ifdef BATCHQ_ASAN
    __lsan_enable();
#endif
  }
  LeakCheckPause(const LeakCheckPause&) = delete;
  LeakCheckPause& operator=(const LeakCheckPause&) = delete;
};

// A call into Python: the GIL, and no leak reports for what CPython allocates meanwhile.
class PythonCall {
 private:
  LeakCheckPause pause_;  // first made, last gone
  py::gil_scoped_acquire gil_;
};

// Starts the interpreter once per process and hands the GIL back, so that any thread
// may take it. Never finalised: handlers' objects may be alive until exit.
void EnsureInterpreter() {
  static std::once_flag started;
  std::call_once(started, [] {
    const LeakCheckPause pause;
    // No signal handlers: the worker's own SIGTERM/SIGINT handling stays in charge.
    py::initialize_interpreter(/*init_signal_handlers=*/false);
    PyEval_SaveThread();
  });
}

// "TypeName: message" of a Python exception object.
std::string Describe(const py::handle& exception) {
  const std::string name = py::str(exception.get_type().attr("__name__"));
  const std::string message = py::str(exception);
  return message.empty() ? name : fmt::format("{}: {}", name, message);
}

// An exception's `batchq_code` attribute, when it names a code of the table (e.g.
// "transient_error": run the job again after a backoff); else handler_error.
ErrorCode CodeOf(const py::handle& exception) {
  if (!py::hasattr(exception, "batchq_code")) return ErrorCode::kHandlerError;
  const py::object code = exception.attr("batchq_code");
  if (!py::isinstance<py::str>(code)) return ErrorCode::kHandlerError;
  return ParseErrorCode(code.cast<std::string>()).value_or(ErrorCode::kHandlerError);
}

// The traceback of the error in flight, for the log.
std::string Traceback(const py::error_already_set& error) {
  try {
    const py::object lines =
        py::module_::import("traceback")
            .attr("format_exception")(error.type(), error.value(), error.trace());
    return py::str("").attr("join")(lines).cast<std::string>();
  } catch (const py::error_already_set&) {
    return error.what();
  }
}

// How a handler wants its inputs: decoded JSON (the default), or numeric arrays as
// NumPy arrays of one dtype (INPUTS = "numpy", INPUT_DTYPE = "float64" or "float32").
enum class InputForm { kJson, kFloat64, kFloat32 };

// The numeric inputs as ndarrays of the handler's dtype, the rest as decoded JSON. The
// arrays are read before the GIL is taken; one json.loads covers the rest.
py::list NumpyInputs(std::span<const std::string_view> inputs,
                     std::span<std::optional<NumericArray>> arrays, InputForm form,
                     const py::object& loads) {
  py::list batch(inputs.size());
  std::string rest = "[";
  std::vector<std::size_t> rest_at;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!arrays[i]) {
      if (!rest_at.empty()) rest += ',';
      rest += inputs[i];
      rest_at.push_back(i);
      continue;
    }
    const NumericArray& array = *arrays[i];
    if (form == InputForm::kFloat64) {
      py::array_t<double> out(array.shape);
      std::memcpy(out.mutable_data(), array.values.data(), array.values.size() * sizeof(double));
      batch[i] = std::move(out);
    } else {
      py::array_t<float> out(array.shape);
      float* data = out.mutable_data();
      for (std::size_t k = 0; k < array.values.size(); ++k) {
        data[k] = static_cast<float>(array.values[k]);
      }
      batch[i] = std::move(out);
    }
  }
  if (rest_at.empty()) return batch;
  rest += ']';
  const py::list decoded = loads(py::str(rest));
  for (std::size_t k = 0; k < rest_at.size(); ++k) batch[rest_at[k]] = decoded[k];
  return batch;
}

class PythonHandler final : public Handler {
 public:
  PythonHandler(std::string file, py::object module, InputForm form)
      : file_(std::move(file)),
        form_(form),
        module_(std::move(module)),
        handle_batch_(module_.attr("handle_batch")),
        loads_(py::module_::import("json").attr("loads")),
        // One encoder made once: its bound encode() takes no keyword arguments per call.
        encode_(py::module_::import("json")
                    .attr("JSONEncoder")(py::arg("separators") = py::make_tuple(",", ":"),
                                         py::arg("ensure_ascii") = false,
                                         py::arg("allow_nan") = false)
                    .attr("encode")) {}

  ~PythonHandler() override {
    const PythonCall call;
    if (py::hasattr(module_, "close")) {
      try {
        module_.attr("close")();
      } catch (const py::error_already_set& error) {
        spdlog::warn("python handler {}: close() raised {}", file_, error.what());
      }
    }
    // Released while the GIL is held, not after it was given back.
    encode_ = py::object();
    loads_ = py::object();
    handle_batch_ = py::object();
    module_ = py::object();
  }

  Result<std::vector<ItemResult>> Run(std::span<const std::string_view> inputs) override {
    if (form_ != InputForm::kJson) {
      std::vector<std::optional<NumericArray>> arrays;
      arrays.reserve(inputs.size());
      for (const std::string_view input : inputs) arrays.push_back(ParseNumericArray(input));
      const PythonCall call;
      return Call(inputs.size(), [&] { return NumpyInputs(inputs, arrays, form_, loads_); });
    }
    // One JSON parse for the whole batch: the inputs are JSON texts already checked.
    std::string array = "[";
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (i > 0) array += ',';
      array += inputs[i];
    }
    array += ']';
    const PythonCall call;
    return Call(inputs.size(), [&] { return loads_(py::str(array)); });
  }

 private:
  // Calls handle_batch on what `make_inputs` builds; the GIL is held by the caller.
  template <typename MakeInputs>
  Result<std::vector<ItemResult>> Call(std::size_t count, MakeInputs make_inputs) {
    try {
      const py::object outputs = handle_batch_(make_inputs());
      return Convert(outputs, count);
    } catch (const py::error_already_set& error) {
      spdlog::error("python handler {}: handle_batch raised\n{}", file_, Traceback(error));
      return Fail(ErrorCode::kHandlerError, Describe(error.value()));
    }
  }

  Result<std::vector<ItemResult>> Convert(const py::object& outputs, std::size_t expected) {
    if (!py::isinstance<py::sequence>(outputs) || py::isinstance<py::str>(outputs)) {
      return Fail(ErrorCode::kHandlerError,
                  fmt::format("handle_batch must return a list, one entry per input; it "
                              "returned a {}.",
                              std::string(py::str(outputs.get_type().attr("__name__")))));
    }
    const auto entries = py::reinterpret_borrow<py::sequence>(outputs);
    if (entries.size() != expected) {
      return Fail(ErrorCode::kHandlerError,
                  fmt::format("handle_batch returned {} entries for {} inputs; it must return "
                              "one per input, in order.",
                              entries.size(), expected));
    }
    std::vector<ItemResult> results;
    results.reserve(expected);
    for (const py::handle entry : entries) results.push_back(Item(entry));
    return results;
  }

  ItemResult Item(py::handle entry) {
    if (PyExceptionInstance_Check(entry.ptr())) return Fail(CodeOf(entry), Describe(entry));
    if (py::isinstance<py::bytes>(entry)) return Binary(entry, "application/octet-stream");
    if (py::isinstance<py::tuple>(entry)) {
      const auto pair = py::reinterpret_borrow<py::tuple>(entry);
      if (pair.size() == 2 && py::isinstance<py::bytes>(pair[0]) &&
          py::isinstance<py::str>(pair[1])) {
        return Binary(pair[0], pair[1].cast<std::string>());
      }
    }
    // Written in C++ when it can be (lists and dicts of numbers and text); Python's own
    // encoder for the rest, and to say why a value is not JSON.
    if (std::string json; AppendPythonJson(entry.ptr(), json)) return ItemOutput(std::move(json));
    try {
      py::object value = py::reinterpret_borrow<py::object>(entry);
      // NumPy arrays and scalars become lists and numbers. JSON's own types are let
      // through first: hasattr() on them raises and catches an AttributeError each time.
      const PyObject* raw = value.ptr();
      const bool plain = raw == Py_None || PyFloat_CheckExact(raw) || PyLong_CheckExact(raw) ||
                         PyUnicode_CheckExact(raw) || PyList_CheckExact(raw) ||
                         PyDict_CheckExact(raw) || PyBool_Check(raw);
      if (!plain && py::hasattr(value, "tolist")) value = value.attr("tolist")();
      return ItemOutput(encode_(value).cast<std::string>());
    } catch (const py::error_already_set& error) {
      return Fail(ErrorCode::kHandlerError,
                  fmt::format("The handler's result is not JSON: {}", Describe(error.value())));
    }
  }

  static ItemResult Binary(py::handle bytes, std::string media_type) {
    char* data = nullptr;
    Py_ssize_t size = 0;
    PyBytes_AsStringAndSize(bytes.ptr(), &data, &size);
    return ItemOutput(fmt::format(R"({{"bytes":{}}})", size),
                      std::string(data, static_cast<std::size_t>(size)), std::move(media_type));
  }

  const std::string file_;
  const InputForm form_;
  py::object module_;
  py::object handle_batch_;
  py::object loads_;
  py::object encode_;
};

// Runs the file as a module of its own, its folder first on sys.path so that it can
// import what lies beside it.
py::object RunFile(const std::string& file) {
  const std::filesystem::path path = std::filesystem::absolute(file);
  py::list sys_path = py::module_::import("sys").attr("path");
  const std::string folder = path.parent_path().string();
  if (!sys_path.contains(folder)) sys_path.insert(0, folder);
  const py::module_ util = py::module_::import("importlib.util");
  const py::object spec =
      util.attr("spec_from_file_location")("batchq_handler_" + path.stem().string(), path.string());
  if (spec.is_none()) throw std::runtime_error("not a Python source file");
  py::object module = util.attr("module_from_spec")(spec);
  spec.attr("loader").attr("exec_module")(module);
  return module;
}

// The module's INPUTS and INPUT_DTYPE; NumPy is imported here so that a host without it
// fails at load, not at the first batch. The GIL is held by the caller.
Result<InputForm> ReadInputForm(const py::object& module, const std::string& file) {
  const auto text = [&](const char* name, const char* otherwise) {
    return py::hasattr(module, name) ? std::string(py::str(module.attr(name))) : otherwise;
  };
  const std::string inputs = text("INPUTS", "json");
  const std::string dtype = text("INPUT_DTYPE", "float64");
  if (inputs == "json") return InputForm::kJson;
  if (inputs != "numpy") {
    return Fail(
        ErrorCode::kInvalidPlugin,
        fmt::format("{} sets INPUTS = \"{}\"; it may be \"json\" or \"numpy\".", file, inputs));
  }
  if (dtype != "float64" && dtype != "float32") {
    return Fail(ErrorCode::kInvalidPlugin,
                fmt::format("{} sets INPUT_DTYPE = \"{}\"; it may be \"float64\" or "
                            "\"float32\".",
                            file, dtype));
  }
  py::module_::import("numpy");  // raises ModuleNotFoundError, reported as a load failure
  return dtype == "float64" ? InputForm::kFloat64 : InputForm::kFloat32;
}

}  // namespace

bool BuiltWithPython() { return true; }

Result<std::unique_ptr<Handler>> LoadPythonHandler(const std::string& file,
                                                   const std::string& config) {
  EnsureInterpreter();
  const PythonCall call;
  try {
    py::object module = RunFile(file);
    if (!py::hasattr(module, "handle_batch") ||
        !PyCallable_Check(module.attr("handle_batch").ptr())) {
      return Fail(ErrorCode::kInvalidPlugin,
                  fmt::format("{} defines no handle_batch(inputs) function.", file));
    }
    auto form = ReadInputForm(module, file);
    if (!form) return std::unexpected(form.error());
    if (py::hasattr(module, "setup")) module.attr("setup")(config);
    return std::unique_ptr<Handler>(
        std::make_unique<PythonHandler>(file, std::move(module), *form));
  } catch (const py::error_already_set& error) {
    spdlog::error("python handler {}: loading it raised\n{}", file, Traceback(error));
    return Fail(ErrorCode::kInvalidPlugin,
                fmt::format("{} could not be loaded: {}", file, Describe(error.value())));
  } catch (const std::exception& error) {
    return Fail(ErrorCode::kInvalidPlugin,
                fmt::format("{} could not be loaded: {}", file, error.what()));
  }
}

}  // namespace batchq
