#include "gpu_worker/cpu_handlers.h"

#include <thread>

#include "gpu_worker/upper_codec.h"

namespace batchq {
namespace {

class CpuUpperHandler final : public Handler {
 public:
  Result<std::vector<ItemResult>> Run(std::span<const std::string_view> inputs) override {
    std::vector<ItemResult> results;
    results.reserve(inputs.size());
    for (const auto input : inputs) {
      auto text = DecodeUpperInput(input);
      if (!text) {
        results.push_back(std::unexpected(text.error()));
        continue;
      }
      UpperAsciiInPlace(*text);
      results.push_back(EncodeUpperResult(*text));
    }
    return results;
  }
};

class CpuSleepHandler final : public Handler {
 public:
  explicit CpuSleepHandler(SleepCost cost) : cost_(cost) {}

  Result<std::vector<ItemResult>> Run(std::span<const std::string_view> inputs) override {
    // The cost model is the work: this type exists to measure batching, not to compute.
    // It sleeps in slices so that a batch whose every job was cancelled stops.
    constexpr auto kSlice = std::chrono::milliseconds(5);
    const auto end = std::chrono::steady_clock::now() + cost_.For(inputs.size());
    for (auto now = std::chrono::steady_clock::now(); now < end;
         now = std::chrono::steady_clock::now()) {
      if (AllCancelled(inputs)) {
        return std::vector<ItemResult>(inputs.size(), CancelledItem());
      }
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(kSlice, end - now));
    }
    return std::vector<ItemResult>(inputs.size(), ItemResult(R"({"ok":true})"));
  }

 private:
  const SleepCost cost_;
};

}  // namespace

std::unique_ptr<Handler> MakeCpuUpperHandler() { return std::make_unique<CpuUpperHandler>(); }

std::unique_ptr<Handler> MakeCpuSleepHandler(SleepCost cost) {
  return std::make_unique<CpuSleepHandler>(cost);
}

}  // namespace batchq
