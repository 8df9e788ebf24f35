// The `render` job on the CPU: escape counts and colours checked by hand on a 4x4
// view, the PNG read back with libpng, and bad parameters failing their item alone.
#include <png.h>

#include <gtest/gtest.h>

#include "gpu_worker/cpu_render_handler.h"
#include "gpu_worker/render_codec.h"

namespace batchq {
namespace {

// 4x4 pixels over [-2, 2] x [-2, 2]: step 1, pixel centres at -1.5, -0.5, 0.5, 1.5
// (rows run downwards, so row 0 has imaginary part +1.5).
RenderView FourByFour() {
  auto view = ParseRenderParams(
      R"({"width":4,"height":4,"center":[0,0],"scale":4,"iterations":16,"colormap":"fire"})");
  EXPECT_TRUE(view) << view.error().message;
  return *view;
}

TEST(RenderTest, EscapeCountsOfAFourByFourViewMatchTheHandComputedOnes) {
  const RenderView view = FourByFour();
  // c = -0.5 + 0.5i lies in the main cardioid: it never escapes.
  EXPECT_EQ(EscapeCount(view, 1, 1), 16);
  // c = 1.5 + 1.5i: z1 = c has |z|^2 = 4.5 > 4, found on the second check.
  EXPECT_EQ(EscapeCount(view, 3, 0), 1);
  // c = 0.5 + 0.5i: |z|^2 runs 0, 0.5, 1.25, 2.3125, 2.91, 12.6.
  EXPECT_EQ(EscapeCount(view, 2, 1), 5);
  // c = -1.5 - 1.5i: escapes at once like its mirror image.
  EXPECT_EQ(EscapeCount(view, 0, 3), 1);
}

TEST(RenderTest, ColoursFollowTheColourMapsIntegerRamp) {
  RenderView view = FourByFour();
  std::uint8_t rgb[3];
  ColourOf(view, 16, rgb);  // inside: black
  EXPECT_EQ(rgb[0] + rgb[1] + rgb[2], 0);
  ColourOf(view, 5, rgb);  // s = 5 * 768 / 16 = 240
  EXPECT_EQ(rgb[0], 240);
  EXPECT_EQ(rgb[1], 0);
  EXPECT_EQ(rgb[2], 0);
  ColourOf(view, 12, rgb);  // s = 576: red full, green full, blue 64
  EXPECT_EQ(rgb[0], 255);
  EXPECT_EQ(rgb[1], 255);
  EXPECT_EQ(rgb[2], 64);
  view.colormap = Colormap::kOcean;
  ColourOf(view, 5, rgb);
  EXPECT_EQ(rgb[2], 240);
  EXPECT_EQ(rgb[0], 0);
  view.colormap = Colormap::kGray;
  ColourOf(view, 5, rgb);
  EXPECT_EQ(rgb[0], 80);
  EXPECT_EQ(rgb[1], 80);
}

TEST(RenderTest, HandlerReturnsAPngThatDecodesToTheRenderedPixels) {
  auto handler = MakeCpuRenderHandler();
  const std::vector<std::string_view> inputs = {
      R"({"width":4,"height":4,"center":[0,0],"scale":4,"iterations":16})",
      R"({"width":0})",
      R"({"width":5,"height":3,"julia":[-0.8,0.156],"colormap":"ocean"})",
      R"({"colour":"red"})",
      R"({"width":4096,"height":4096})",
      R"({"colormap":"rainbow"})",
      "[1]"};
  auto results = handler->Run(inputs);
  ASSERT_TRUE(results);
  ASSERT_EQ(results->size(), inputs.size());
  for (std::size_t i : {1u, 3u, 4u, 5u, 6u}) {
    ASSERT_FALSE((*results)[i]) << i;
    EXPECT_EQ((*results)[i].error().code, ErrorCode::kInvalidInput) << i;
  }
  EXPECT_NE((*results)[3].error().message.find("Unknown field \"colour\""), std::string::npos);
  for (std::size_t i : {0u, 2u}) {
    ASSERT_TRUE((*results)[i]) << (*results)[i].error().message;
    const ItemOutput& out = *(*results)[i];
    EXPECT_EQ(out.content_type, "image/png");
    ASSERT_GT(out.blob.size(), 8u);
    EXPECT_EQ(out.blob.substr(1, 3), "PNG");

    png_image image{};
    image.version = PNG_IMAGE_VERSION;
    ASSERT_TRUE(png_image_begin_read_from_memory(&image, out.blob.data(), out.blob.size()));
    image.format = PNG_FORMAT_RGB;
    std::vector<std::uint8_t> decoded(PNG_IMAGE_SIZE(image));
    ASSERT_TRUE(png_image_finish_read(&image, nullptr, decoded.data(), 0, nullptr));
    auto view = ParseRenderParams(inputs[i]);
    ASSERT_TRUE(view);
    EXPECT_EQ(static_cast<int>(image.width), view->width);
    EXPECT_EQ(static_cast<int>(image.height), view->height);
    std::vector<std::uint8_t> expected(static_cast<std::size_t>(view->width) * view->height * 3);
    RenderPixels(*view, expected);
    EXPECT_EQ(decoded, expected);
    EXPECT_EQ(out.json, R"({"format":"png","width":)" + std::to_string(view->width) +
                            R"(,"height":)" + std::to_string(view->height) + R"(,"bytes":)" +
                            std::to_string(out.blob.size()) + "}");
  }
}

}  // namespace
}  // namespace batchq
