#pragma once
// Hashes std::string and std::string_view alike, so that a map keyed by std::string is
// searched with a view and no copy: give the map this hash and std::equal_to<>.

#include <cstddef>
#include <functional>
#include <string_view>

namespace batchq {

struct StringViewHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view text) const {
    return std::hash<std::string_view>{}(text);
  }
};

}  // namespace batchq
