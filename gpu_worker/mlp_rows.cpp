#include "gpu_worker/mlp_rows.h"

#include "gpu_worker/float_vector_codec.h"

namespace batchq {

PackedRows PackRows(std::span<const std::string_view> inputs, int width, float* matrix) {
  PackedRows packed;
  packed.row_of_item.reserve(inputs.size());
  for (const auto input : inputs) {
    float* row = matrix + packed.rows * static_cast<std::size_t>(width);
    if (auto status = DecodeFloatVector(input, std::span<float>(row, width)); !status) {
      packed.row_of_item.push_back(std::unexpected(status.error()));
      continue;
    }
    packed.row_of_item.push_back(packed.rows++);
  }
  return packed;
}

std::vector<ItemResult> UnpackRows(const PackedRows& packed, const float* outputs, int width) {
  std::vector<ItemResult> results;
  results.reserve(packed.row_of_item.size());
  for (const auto& row : packed.row_of_item) {
    if (!row) {
      results.push_back(std::unexpected(row.error()));
      continue;
    }
    const float* values = outputs + *row * static_cast<std::size_t>(width);
    results.push_back(EncodeFloatVector(std::span<const float>(values, width)));
  }
  return results;
}

}  // namespace batchq
