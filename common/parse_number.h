#pragma once
// Reads a number from Redis text; what does not parse reads as 0 (a field written by
// a newer or broken writer must not stop a reader).

#include <charconv>
#include <string_view>

namespace batchq {

template <class T>
T ParseNumberOrZero(std::string_view text) {
  T value{};
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

}  // namespace batchq
