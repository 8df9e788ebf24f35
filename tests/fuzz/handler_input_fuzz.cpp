// Job inputs as the built-in handlers decode them: render parameters, and float
// vectors for the mlp (JSON arrays or base64), packed as a batch.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "gpu_worker/float_vector_codec.h"
#include "gpu_worker/mlp_rows.h"
#include "gpu_worker/render_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  (void)batchq::ParseRenderParams(json);
  std::vector<float> floats(4);
  (void)batchq::DecodeFloatVector(json, floats);
  (void)batchq::DecodeBase64(json);
  const std::string_view inputs[] = {json, "[1,2,3,4]"};
  std::vector<float> matrix(2 * 4);
  auto packed = batchq::PackRows(inputs, 4, matrix.data());
  (void)batchq::UnpackRows(packed, matrix.data(), 4);
  return 0;
}
