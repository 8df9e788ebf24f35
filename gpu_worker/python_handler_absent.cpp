// Built when CPython's embedding library or pybind11 is missing.
#include <fmt/format.h>

#include "gpu_worker/python_handler.h"

namespace batchq {

bool BuiltWithPython() { return false; }

Result<std::unique_ptr<Handler>> LoadPythonHandler(const std::string& file,
                                                   const std::string& /*config*/) {
  return Fail(ErrorCode::kInvalidPlugin,
              fmt::format("{}: this worker was built without Python (python3-dev and "
                          "pybind11-dev were not found).",
                          file));
}

}  // namespace batchq
