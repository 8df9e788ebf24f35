#include "gpu_worker/cpu_render_handler.h"

#include <vector>

#include "gpu_worker/render_codec.h"

namespace batchq {

void RenderPixels(const RenderView& view, std::span<std::uint8_t> rgb) {
  std::uint8_t* out = rgb.data();
  for (std::int32_t y = 0; y < view.height; ++y) {
    for (std::int32_t x = 0; x < view.width; ++x, out += 3) {
      ColourOf(view, EscapeCount(view, x, y), out);
    }
  }
}

namespace {

class CpuRenderHandler final : public Handler {
 public:
  Result<std::vector<ItemResult>> Run(std::span<const std::string_view> inputs) override {
    std::vector<ItemResult> results;
    results.reserve(inputs.size());
    for (const auto input : inputs) {
      // A job cancelled while its batch runs is skipped; its batch-mates are not.
      if (Cancelled(input)) {
        results.push_back(CancelledItem());
        continue;
      }
      auto view = ParseRenderParams(input);
      if (!view) {
        results.push_back(std::unexpected(view.error()));
        continue;
      }
      pixels_.resize(static_cast<std::size_t>(view->width) * view->height * 3);
      RenderPixels(*view, pixels_);
      results.push_back(EncodeRenderResult(*view, pixels_));
    }
    return results;
  }

 private:
  std::vector<std::uint8_t> pixels_;  // reused across items
};

}  // namespace

std::unique_ptr<Handler> MakeCpuRenderHandler() { return std::make_unique<CpuRenderHandler>(); }

}  // namespace batchq
