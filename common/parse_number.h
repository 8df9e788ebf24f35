#pragma once
// Reads a number from Redis text: ParseNumberOrZero where what does not parse reads as 0
// (a field written by a newer or broken writer must not stop a reader), ParseWholeNumber
// where the caller tells a text that is a number from one that is not.

#include <charconv>
#include <optional>
#include <string_view>

namespace batchq {

template <class T>
T ParseNumberOrZero(std::string_view text) {
  T value{};
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

// The number `text` is in full; nullopt for an empty text, or one with anything else in it.
template <class T>
std::optional<T> ParseWholeNumber(std::string_view text) {
  T value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace batchq
