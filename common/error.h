#pragma once
// Errors that cross module boundaries on paths that fail in normal operation.
// Every error that can reach a user carries a code from the one table (error_code.h)
// and a sentence.

#include <expected>
#include <string>
#include <utility>

#include "common/error_code.h"

namespace batchq {

struct Error {
  ErrorCode code = ErrorCode::kHandlerError;
  std::string message;  // one human sentence
};

inline std::unexpected<Error> Fail(ErrorCode code, std::string message) {
  return std::unexpected<Error>(Error{code, std::move(message)});
}
inline std::unexpected<Error> Fail(ErrorCode code) {
  return Fail(code, std::string(DefaultMessage(code)));
}

template <class T>
using Result = std::expected<T, Error>;

using Status = std::expected<void, Error>;

inline Status Ok() { return {}; }

}  // namespace batchq
