#include "gpu_worker/png_encoder.h"

#include <png.h>

#include <vector>

namespace batchq {
namespace {

void Append(png_structp png, png_bytep data, png_size_t length) {
  auto* out = static_cast<std::string*>(png_get_io_ptr(png));
  out->append(reinterpret_cast<const char*>(data), length);
}

void Flush(png_structp) {}

}  // namespace

Result<std::string> EncodePng(std::span<const std::uint8_t> rgb, int width, int height) {
  if (width <= 0 || height <= 0 ||
      rgb.size() != static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * 3) {
    return Fail(ErrorCode::kHandlerError, "The image buffer does not match its dimensions.");
  }
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  if (png == nullptr) return Fail(ErrorCode::kHandlerError, "libpng could not start an image.");
  png_infop info = png_create_info_struct(png);
  std::string out;
  std::vector<png_bytep> rows(height);
  // libpng reports errors by longjmp; nothing with a destructor is created below.
  if (info == nullptr || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return Fail(ErrorCode::kHandlerError, "libpng failed to encode the image.");
  }
  png_set_write_fn(png, &out, Append, Flush);
  png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_set_compression_level(png, 1);
  for (int y = 0; y < height; ++y) {
    rows[y] = const_cast<png_bytep>(rgb.data() + static_cast<std::size_t>(y) * width * 3);
  }
  png_set_rows(png, info, rows.data());
  png_write_png(png, info, PNG_TRANSFORM_IDENTITY, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

}  // namespace batchq
