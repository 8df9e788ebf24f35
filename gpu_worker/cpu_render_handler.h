#pragma once
// The `render` job on the CPU: the reference pixels the CUDA kernel must equal.

#include <cstdint>
#include <memory>
#include <span>

#include "gpu_worker/handler.h"
#include "gpu_worker/render_view.h"

namespace batchq {

// Fills `rgb` (view.width * view.height * 3 bytes).
void RenderPixels(const RenderView& view, std::span<std::uint8_t> rgb);

std::unique_ptr<Handler> MakeCpuRenderHandler();

}  // namespace batchq
