#pragma once
// An integer's decimal text, written by std::to_chars into the object itself: no
// allocation and no format string to parse, for the paths that write numbers for every
// job (a change line, a JSON answer, a reply's head), where fmt cost several times as
// much (docs/BENCHMARKS.md). A value type; its view lives as long as it does.

#include <array>
#include <charconv>
#include <concepts>
#include <cstddef>
#include <string_view>

namespace batchq {

class DecimalText {
 public:
  template <std::integral T>
  explicit DecimalText(T value) {
    const auto end = std::to_chars(digits_.data(), digits_.data() + digits_.size(), value).ptr;
    size_ = static_cast<std::size_t>(end - digits_.data());
  }

  std::string_view view() const { return {digits_.data(), size_}; }

 private:
  // The longest texts: "-9223372036854775808" and "18446744073709551615".
  std::array<char, 20> digits_;
  std::size_t size_ = 0;
};

}  // namespace batchq
