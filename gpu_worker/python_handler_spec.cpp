#include <fmt/format.h>

#include "common/job_limits.h"
#include "gpu_worker/python_handler.h"

namespace batchq {

Result<PythonHandlerSpec> ParsePythonHandlerSpec(std::string_view text) {
  const auto equals = text.find('=');
  if (equals == std::string_view::npos || equals + 1 == text.size()) {
    return Fail(ErrorCode::kInvalidSetting,
                fmt::format("--python-handler takes TYPE=FILE, not '{}'.", text));
  }
  const std::string_view type = text.substr(0, equals);
  if (!IsValidTypeName(type)) {
    return Fail(ErrorCode::kInvalidSetting,
                fmt::format("'{}' is not a job type name (1-64 of letters, digits, '_-.').", type));
  }
  return PythonHandlerSpec{std::string(type), std::string(text.substr(equals + 1))};
}

}  // namespace batchq
