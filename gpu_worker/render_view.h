#pragma once
// The pixel arithmetic of the `render` job (Mandelbrot and Julia sets), compiled both
// by the host compiler and by nvcc so the CPU and CUDA twins give identical pixels.
// Identical, not close: every floating-point step is one IEEE double operation
// rounded to nearest (the device side uses __dmul_rn/__dadd_rn, which nvcc never
// fuses into an FMA; the host side is compiled with -ffp-contract=off), and colours
// come from integer arithmetic on the escape count.

#include <cstdint>

#if defined(__CUDACC__)
#define BATCHQ_HD __host__ __device__
#else
#define BATCHQ_HD
#endif

namespace batchq {

enum class Colormap : std::int32_t { kGray = 0, kFire = 1, kOcean = 2 };

// One image's parameters, flat so it can be copied to the device as is.
struct RenderView {
  std::int32_t width = 256;
  std::int32_t height = 256;
  double center_x = -0.5;
  double center_y = 0.0;
  double step = 3.0 / 256;  // complex-plane distance between neighbouring pixels
  std::int32_t iterations = 256;
  Colormap colormap = Colormap::kFire;
  std::int32_t julia = 0;  // 0: Mandelbrot (z0 = 0, c = pixel); 1: Julia (z0 = pixel, c = j)
  double julia_x = 0.0;
  double julia_y = 0.0;
};

BATCHQ_HD inline double RnAdd(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dadd_rn(a, b);
#else
  return a + b;
#endif
}

BATCHQ_HD inline double RnMul(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}

// Iterations before |z| > 2, or view.iterations when the point never escapes.
BATCHQ_HD inline std::int32_t EscapeCount(const RenderView& view, std::int32_t x, std::int32_t y) {
  const double dx = RnMul(RnAdd(static_cast<double>(x), -0.5 * (view.width - 1)), view.step);
  const double dy = RnMul(RnAdd(static_cast<double>(y), -0.5 * (view.height - 1)), view.step);
  const double px = RnAdd(view.center_x, dx);
  const double py = RnAdd(view.center_y, -dy);  // image rows run downwards
  double zr = view.julia ? px : 0.0;
  double zi = view.julia ? py : 0.0;
  const double cr = view.julia ? view.julia_x : px;
  const double ci = view.julia ? view.julia_y : py;
  for (std::int32_t i = 0; i < view.iterations; ++i) {
    const double x2 = RnMul(zr, zr);
    const double y2 = RnMul(zi, zi);
    if (RnAdd(x2, y2) > 4.0) return i;
    zi = RnAdd(RnMul(RnAdd(zr, zr), zi), ci);
    zr = RnAdd(RnAdd(x2, -y2), cr);
  }
  return view.iterations;
}

BATCHQ_HD inline std::uint8_t Clamp255(std::int64_t v) {
  return static_cast<std::uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

// Writes the pixel's RGB. Points inside the set are black.
BATCHQ_HD inline void ColourOf(const RenderView& view, std::int32_t count, std::uint8_t* rgb) {
  if (count >= view.iterations) {
    rgb[0] = rgb[1] = rgb[2] = 0;
    return;
  }
  const std::int64_t s = static_cast<std::int64_t>(count) * 768 / view.iterations;  // 0..767
  const std::uint8_t low = Clamp255(s);
  const std::uint8_t mid = Clamp255(s - 256);
  const std::uint8_t high = Clamp255(s - 512);
  switch (view.colormap) {
    case Colormap::kGray:
      rgb[0] = rgb[1] = rgb[2] = static_cast<std::uint8_t>(s / 3);
      break;
    case Colormap::kOcean:
      rgb[0] = high;
      rgb[1] = mid;
      rgb[2] = low;
      break;
    case Colormap::kFire:
    default:
      rgb[0] = low;
      rgb[1] = mid;
      rgb[2] = high;
      break;
  }
}

}  // namespace batchq
