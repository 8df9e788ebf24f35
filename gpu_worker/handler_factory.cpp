#include "gpu_worker/handler_factory.h"

#include <fmt/format.h>

#include "gpu_worker/cpu_mlp_handler.h"
#include "gpu_worker/cpu_render_handler.h"
#include "gpu_worker/two_phase_cpu_handler.h"

#ifdef BATCHQ_HAVE_CUDA
#include "gpu_worker/cuda/cuda_handlers.h"
#endif

namespace batchq {

std::string_view ToString(Backend backend) { return backend == Backend::kCuda ? "cuda" : "cpu"; }

bool BuiltWithCuda() {
#ifdef BATCHQ_HAVE_CUDA
  return true;
#else
  return false;
#endif
}

Result<BackendChoice> ChooseBackend(std::string_view requested, [[maybe_unused]] int device) {
  if (requested == "cpu") return BackendChoice{Backend::kCpu, "cpu"};
  if (requested != "auto" && requested != "cuda") {
    return Fail(ErrorCode::kInvalidBackend,
                fmt::format("--backend must be auto, cuda or cpu, not '{}'.", requested));
  }
#ifdef BATCHQ_HAVE_CUDA
  const auto info = cuda::ProbeDevices(device);
  if (device < info.device_count) {
    return BackendChoice{Backend::kCuda, info.name, info.total_memory_bytes};
  }
  if (requested == "cuda") {
    return Fail(ErrorCode::kNoDevice,
                fmt::format("--backend cuda: CUDA device {} is not present ({} found).", device,
                            info.device_count));
  }
#else
  if (requested == "cuda") {
    return Fail(ErrorCode::kNoDevice,
                "--backend cuda: this build has no CUDA support (nvcc not found).");
  }
#endif
  return BackendChoice{Backend::kCpu, "cpu"};
}

Result<std::shared_ptr<const MlpModel>> LoadMlpModel(const MlpOptions& options) {
  auto activation = ParseActivation(options.activation);
  if (!activation) return std::unexpected(activation.error());
  Result<MlpModel> model = [&]() -> Result<MlpModel> {
    if (options.weights_path.empty()) return SeededMlp(options.widths, options.seed, *activation);
    auto file = SafetensorsFile::Read(options.weights_path);
    if (!file) return std::unexpected(file.error());
    return MlpFromSafetensors(*file, *activation);
  }();
  if (!model) return std::unexpected(model.error());
  return std::make_shared<const MlpModel>(std::move(*model));
}

Result<std::unique_ptr<Handler>> MakeHandler(std::string_view type, Backend backend,
                                             const HandlerOptions& options) {
#ifdef BATCHQ_HAVE_CUDA
  if (backend == Backend::kCuda) {
    if (type == "upper") return cuda::MakeUpperHandler(options.device);
    if (type == "sleep") return cuda::MakeSleepHandler(options.device, options.sleep);
    if (type == "render") return cuda::MakeRenderHandler(options.device);
    if (type == "mlp") {
      auto model = LoadMlpModel(options.mlp);
      if (!model) return std::unexpected(model.error());
      return cuda::MakeMlpHandler(options.device, std::move(*model), options.mlp.tf32);
    }
  }
#endif
  if (backend == Backend::kCpu) {
    if (type == "upper") return MakeCpuUpperHandler();
    if (type == "sleep") return MakeCpuSleepHandler(options.sleep);
    if (type == "render") return MakeTwoPhaseCpuHandler([] { return MakeCpuRenderHandler(); });
    if (type == "mlp") {
      auto model = LoadMlpModel(options.mlp);
      if (!model) return std::unexpected(model.error());
      return MakeTwoPhaseCpuHandler([model = *model] { return MakeCpuMlpHandler(model); });
    }
  }
  return Fail(ErrorCode::kUnknownType,
              fmt::format("No {} handler for job type '{}'.", ToString(backend), type));
}

}  // namespace batchq
