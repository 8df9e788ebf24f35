#include "gpu_worker/numeric_array.h"

#include <simdjson.h>

namespace batchq {
namespace {

namespace dom = simdjson::dom;

// Walks one level; the first array met at each depth fixes that level's extent, and the
// first number met fixes the depth of the leaves.
class ShapeWalk {
 public:
  explicit ShapeWalk(NumericArray& out) : out_(out) {}

  bool Walk(const dom::element& element, std::size_t depth) {
    if (element.is_array()) return Array(element.get_array().value_unsafe(), depth);
    if (depth != out_.shape.size()) return false;  // a number where an array was due
    double value = 0;
    switch (element.type()) {
      case dom::element_type::DOUBLE:
        value = element.get_double().value_unsafe();
        break;
      case dom::element_type::INT64:
        value = static_cast<double>(element.get_int64().value_unsafe());
        break;
      case dom::element_type::UINT64:
        value = static_cast<double>(element.get_uint64().value_unsafe());
        break;
      default:
        return false;
    }
    out_.values.push_back(value);
    return true;
  }

 private:
  bool Array(const dom::array& array, std::size_t depth) {
    const std::size_t size = array.size();
    if (size == 0 || depth >= kMaxNumericArrayRank) return false;
    if (depth == out_.shape.size()) {
      if (!out_.values.empty()) return false;  // leaves were already met shallower
      out_.shape.push_back(size);
    } else if (depth > out_.shape.size() || out_.shape[depth] != size) {
      return false;
    }
    for (const dom::element child : array) {
      if (!Walk(child, depth + 1)) return false;
    }
    return true;
  }

  NumericArray& out_;
};

}  // namespace

std::optional<NumericArray> ParseNumericArray(std::string_view json) {
  thread_local dom::parser parser;
  dom::element root;
  if (parser.parse(json.data(), json.size(), /*realloc_if_needed=*/true).get(root) ||
      !root.is_array()) {
    return std::nullopt;
  }
  NumericArray out;
  if (!ShapeWalk(out).Walk(root, 0)) return std::nullopt;
  return out;
}

}  // namespace batchq
