#pragma once
// The one interface every job type implements: a batch of inputs in, one result
// (or error) per input out. A CUDA handler and its CPU twin give the same answers.

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace batchq {

// The result of one item as JSON text, or that item's own error (e.g. invalid_input).
using ItemResult = Result<std::string>;

class Handler {
 public:
  virtual ~Handler() = default;

  // `inputs` are JSON texts. Returns exactly inputs.size() results, or an Error for the
  // whole batch when the device itself failed (the broker may then retry it).
  // Called from one thread at a time.
  virtual Result<std::vector<ItemResult>> Run(std::span<const std::string_view> inputs) = 0;
};

}  // namespace batchq
