// A model file: the safetensors header and tensors, then an MLP built from them.
#include <cstddef>
#include <cstdint>
#include <string>

#include "gpu_worker/mlp_model.h"
#include "gpu_worker/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto file =
      batchq::SafetensorsFile::Parse(std::string(reinterpret_cast<const char*>(data), size));
  if (!file) return 0;
  for (const auto& tensor : file->tensors()) (void)file->Floats(tensor);
  (void)batchq::MlpFromSafetensors(*file, batchq::Activation::kRelu);
  return 0;
}
