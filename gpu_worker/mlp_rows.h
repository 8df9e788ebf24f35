#pragma once
// Packs a batch of `mlp` inputs into one row-major matrix (one row per valid item, in
// order) and unpacks the output matrix into per-item results. Shared by the CPU and
// CUDA handlers so that both treat bad items the same way: a wrong-width or malformed
// vector fails that item alone with invalid_input.

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "gpu_worker/handler.h"

namespace batchq {

struct PackedRows {
  std::vector<Result<std::size_t>> row_of_item;  // the item's row, or its error
  std::size_t rows = 0;                          // valid items packed
};

// `matrix` holds at least inputs.size() * width floats.
PackedRows PackRows(std::span<const std::string_view> inputs, int width, float* matrix);

// `outputs` holds packed.rows rows of `width` floats.
std::vector<ItemResult> UnpackRows(const PackedRows& packed, const float* outputs, int width);

}  // namespace batchq
