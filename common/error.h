#pragma once
// Errors that cross module boundaries on paths that fail in normal operation.
// Every error that can reach a user carries a stable machine code and a sentence.

#include <expected>
#include <string>
#include <utility>

namespace batchq {

struct Error {
  std::string code;     // stable, snake_case: "invalid_json", "redis_unavailable", ...
  std::string message;  // one human sentence
};

inline std::unexpected<Error> Fail(std::string code, std::string message) {
  return std::unexpected<Error>(Error{std::move(code), std::move(message)});
}

template <class T>
using Result = std::expected<T, Error>;

using Status = std::expected<void, Error>;

inline Status Ok() { return {}; }

}  // namespace batchq
