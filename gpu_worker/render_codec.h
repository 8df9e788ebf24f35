#pragma once
// The `render` job's input and result. Input: a JSON object, every field optional,
//   {"width":256,"height":256,"center":[-0.5,0],"scale":3.0,"iterations":256,
//    "colormap":"fire"|"gray"|"ocean","julia":[re,im]}
// `scale` is the view's width in the complex plane; `julia` switches from the
// Mandelbrot set to the Julia set of that constant. Unknown fields and values out of
// range are invalid_input, so a typo is an error rather than a default picture.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/error.h"
#include "gpu_worker/handler.h"
#include "gpu_worker/render_view.h"

namespace batchq {

inline constexpr std::int32_t kMaxRenderSide = 4096;
inline constexpr std::int64_t kMaxRenderPixels = 2048 * 2048;
inline constexpr std::int32_t kMaxRenderIterations = 100'000;

Result<RenderView> ParseRenderParams(std::string_view json);

// The item's result: the pixels (width * height * 3 bytes of RGB) as a PNG, with a JSON
// description {"format":"png","width","height","bytes"}.
ItemResult EncodeRenderResult(const RenderView& view, std::span<const std::uint8_t> rgb);

}  // namespace batchq
