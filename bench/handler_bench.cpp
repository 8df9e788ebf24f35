// Throughput of the `mlp` and `render` handlers against batch size, on the CPU twin or
// on CUDA: the batching win on real workloads. For CUDA `mlp` it also reports the
// GEMMs' achieved FLOP/s against cuBLAS on the same shapes alone, and the device's
// busy fraction of the wall time (CUDA events). One JSON line per (type, batch).
//
//   build/bench/handler_bench --backend cpu --types mlp,render > docs/bench/handlers_cpu.jsonl
#include <algorithm>
#include <chrono>
#include <iostream>
#include <optional>
#include <random>

#include <cblas.h>
#include <fmt/format.h>

#include "common/command_line.h"
#include "gpu_worker/float_vector_codec.h"
#include "gpu_worker/handler_factory.h"
#ifdef BATCHQ_HAVE_CUDA
#include "gpu_worker/cuda/cuda_handlers.h"
#endif

namespace {

using Clock = std::chrono::steady_clock;
using batchq::Result;

// `mlp` inputs as a JSON array, or (base64) as the JSON string of the float32 values'
// little-endian bytes, the form that skips parsing decimal text.
std::vector<std::string> Inputs(const std::string& type, int count, int width,
                                const std::string& render_params, bool base64) {
  std::vector<std::string> inputs;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  for (int i = 0; i < count; ++i) {
    if (type == "mlp") {
      std::vector<float> x(width);
      for (auto& v : x) v = value(rng);
      inputs.push_back(base64 ? batchq::EncodeFloatVectorBase64(x) : batchq::EncodeFloatVector(x));
    } else {
      inputs.push_back(render_params);
    }
  }
  return inputs;
}

// The reference measured in the same run: OpenBLAS sgemm on one large square product,
// the best FLOP/s this machine's BLAS gives (medians of 5).
double CpuSgemmGflops(int n) {
  std::vector<float> a(static_cast<std::size_t>(n) * n, 0.5f), b(a), c(a.size());
  std::vector<double> runs;
  for (int r = 0; r < 6; ++r) {
    const auto t0 = Clock::now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0f, a.data(), n, b.data(), n,
                0.0f, c.data(), n);
    if (r > 0) runs.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  std::nth_element(runs.begin(), runs.begin() + runs.size() / 2, runs.end());
  return 2.0 * n * n * n / runs[runs.size() / 2] / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  batchq::CommandLine command_line{
      "batchq handler throughput against batch size (JSON lines on stdout)"};
  std::string backend = "cpu";
  std::vector<std::string> types = {"mlp", "render"};
  std::vector<int> batches = {1, 2, 4, 8, 16, 32, 64, 128};
  double seconds = 1.0;
  int device = 0;
  batchq::MlpOptions mlp;
  std::string render_params = R"({"width":128,"height":128,"iterations":256})";
  command_line.Option("--backend", backend, "cpu|cuda")
      .Check(batchq::FlagCheck::OneOf({"cpu", "cuda"}));
  command_line.Option("--types", types, "Job types").Delimiter(',');
  command_line.Option("--batches", batches, "Batch sizes").Delimiter(',');
  command_line.Option("--seconds", seconds, "Time per batch size (at least 5 runs)");
  command_line.Option("--device", device, "CUDA device");
  command_line.Option("--mlp-widths", mlp.widths, "mlp widths").Delimiter(',');
  command_line.Switch("--mlp-tf32", mlp.tf32, "TF32 GEMMs on CUDA");
  command_line.Option("--render-params", render_params, "render job input");
  std::string mlp_input = "json";
  command_line
      .Option("--mlp-input", mlp_input, "mlp inputs as a JSON array (json) or base64 float32")
      .Check(batchq::FlagCheck::OneOf({"json", "base64"}));
  bool pipelined = false;
  command_line.Switch("--pipelined", pipelined,
                      "Launch the next batch before collecting the current one, as the worker does "
                      "with 2 credits; jobs/s then comes from wall time");
  if (const auto exit_code = command_line.Parse(argc, argv)) return *exit_code;

  auto choice = batchq::ChooseBackend(backend, device);
  if (!choice) {
    std::cerr << choice.error().message << "\n";
    return 1;
  }
  auto model = batchq::LoadMlpModel(mlp);
  if (!model) {
    std::cerr << model.error().message << "\n";
    return 1;
  }
  if (choice->backend == batchq::Backend::kCpu) {
    std::cout << fmt::format(
                     R"({{"type":"reference","what":"openblas sgemm 1024^3","gflops":{:.2f}}})",
                     CpuSgemmGflops(1024))
              << std::endl;
  }
  for (const auto& type : types) {
    auto handler =
        batchq::MakeHandler(type, choice->backend, batchq::HandlerOptions{{}, device, mlp});
    if (!handler) {
      std::cerr << handler.error().message << "\n";
      return 1;
    }
    for (const int batch : batches) {
      const auto texts =
          Inputs(type, batch, (*model)->input_width(), render_params, mlp_input == "base64");
      const std::vector<std::string_view> inputs(texts.begin(), texts.end());
      (void)(*handler)->Run(inputs);  // warm-up: buffers grow, kernels load
      std::vector<double> runs;
      const auto device_before = (*handler)->device_time();
      const auto start = Clock::now();
      const bool overlap = pipelined && (*handler)->launch_slots() >= 2;
      std::optional<int> in_flight;
      while (runs.size() < 5 || Clock::now() - start < std::chrono::duration<double>(seconds)) {
        const auto t0 = Clock::now();
        Result<std::vector<batchq::ItemResult>> results = std::vector<batchq::ItemResult>{};
        if (overlap) {
          auto next = (*handler)->Launch(inputs);
          if (!next) {
            std::cerr << next.error().message << "\n";
            return 1;
          }
          if (in_flight) results = (*handler)->Collect(*in_flight);
          in_flight = *next;
        } else {
          results = (*handler)->Run(inputs);
        }
        runs.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
        if (!results) {
          std::cerr << results.error().message << "\n";
          return 1;
        }
      }
      if (in_flight) (void)(*handler)->Collect(*in_flight);
      const double wall = std::chrono::duration<double>(Clock::now() - start).count();
      const double busy =
          std::chrono::duration<double>((*handler)->device_time() - device_before).count();
      std::nth_element(runs.begin(), runs.begin() + runs.size() / 2, runs.end());
      // Overlapped batches have no time of their own: use the wall time per batch.
      const double median =
          overlap ? wall / static_cast<double>(runs.size()) : runs[runs.size() / 2];
      std::string extra;
      if (type == "mlp") {
        const double flops = static_cast<double>((*model)->FlopsPerItem()) * batch;
        extra +=
            fmt::format(R"(,"input":"{}","gflops_wall":{:.2f})", mlp_input, flops / median / 1e9);
#ifdef BATCHQ_HAVE_CUDA
        if (choice->backend == batchq::Backend::kCuda) {
          auto gemm = batchq::cuda::TimeCublasForward(device, **model, batch, mlp.tf32, 50);
          const double per_batch_device = busy / static_cast<double>(runs.size());
          if (gemm) {
            extra += fmt::format(
                R"(,"gflops_device":{:.2f},"gflops_cublas_alone":{:.2f},"fraction_of_cublas":{:.3f})",
                flops / per_batch_device / 1e9, flops / *gemm / 1e9, *gemm / per_batch_device);
          }
        }
#endif
      }
      std::cout
          << fmt::format(
                 R"({{"type":"{}","backend":"{}","device":"{}","pipelined":{},"batch":{},"runs":{},)"
                 R"("median_batch_ms":{:.4f},"jobs_per_s":{:.1f},"device_busy":{:.3f}{}}})",
                 type, batchq::ToString(choice->backend), choice->device, overlap, batch,
                 runs.size(), median * 1e3, batch / median, busy / wall, extra)
          << std::endl;
    }
  }
  return 0;
}
