#include "gpu_worker/render_codec.h"

#include <cmath>

#include <fmt/format.h>
#include <simdjson.h>

#include "gpu_worker/png_encoder.h"

namespace batchq {
namespace {

std::unexpected<Error> Invalid(std::string message) {
  return Fail(ErrorCode::kInvalidInput, std::move(message));
}

Result<std::pair<double, double>> ParsePoint(simdjson::dom::element value, std::string_view key) {
  simdjson::dom::array array;
  double xy[2] = {0, 0};
  std::size_t n = 0;
  if (value.get(array) == simdjson::SUCCESS && array.size() == 2) {
    for (auto v : array) {
      if (v.get(xy[n]) != simdjson::SUCCESS || !std::isfinite(xy[n])) break;
      ++n;
    }
  }
  if (n != 2) return Invalid(fmt::format("\"{}\" must be [re, im], two finite numbers.", key));
  return std::pair{xy[0], xy[1]};
}

Result<std::int64_t> ParseInt(simdjson::dom::element value, std::string_view key, std::int64_t low,
                              std::int64_t high) {
  std::int64_t n = 0;
  if (value.get(n) != simdjson::SUCCESS || n < low || n > high) {
    return Invalid(fmt::format("\"{}\" must be an integer in {}..{}.", key, low, high));
  }
  return n;
}

}  // namespace

Result<RenderView> ParseRenderParams(std::string_view json) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(json.data(), json.size(), true).get(root) != simdjson::SUCCESS) {
    return Invalid("The input is not valid JSON.");
  }
  simdjson::dom::object object;
  if (root.get(object) != simdjson::SUCCESS) {
    return Invalid("The input must be an object such as {\"width\":256,\"height\":256}.");
  }
  RenderView view;
  double scale = 3.0;
  for (auto field : object) {
    const std::string_view key = field.key;
    if (key == "width" || key == "height") {
      auto n = ParseInt(field.value, key, 1, kMaxRenderSide);
      if (!n) return std::unexpected(n.error());
      (key == "width" ? view.width : view.height) = static_cast<std::int32_t>(*n);
    } else if (key == "iterations") {
      auto n = ParseInt(field.value, key, 1, kMaxRenderIterations);
      if (!n) return std::unexpected(n.error());
      view.iterations = static_cast<std::int32_t>(*n);
    } else if (key == "scale") {
      if (field.value.get(scale) != simdjson::SUCCESS || !std::isfinite(scale) || scale <= 0) {
        return Invalid("\"scale\" must be a positive number (the view's width).");
      }
    } else if (key == "center" || key == "julia") {
      auto point = ParsePoint(field.value, key);
      if (!point) return std::unexpected(point.error());
      if (key == "center") {
        std::tie(view.center_x, view.center_y) = *point;
      } else {
        view.julia = 1;
        std::tie(view.julia_x, view.julia_y) = *point;
      }
    } else if (key == "colormap") {
      std::string_view name;
      if (field.value.get(name) != simdjson::SUCCESS) name = "?";
      if (name == "fire") {
        view.colormap = Colormap::kFire;
      } else if (name == "gray") {
        view.colormap = Colormap::kGray;
      } else if (name == "ocean") {
        view.colormap = Colormap::kOcean;
      } else {
        return Invalid("\"colormap\" must be \"fire\", \"gray\" or \"ocean\".");
      }
    } else {
      return Invalid(
          fmt::format("Unknown field \"{}\"; the fields are width, height, center, "
                      "scale, iterations, colormap and julia.",
                      key));
    }
  }
  if (static_cast<std::int64_t>(view.width) * view.height > kMaxRenderPixels) {
    return Invalid(
        fmt::format("{}x{} is more than {} pixels.", view.width, view.height, kMaxRenderPixels));
  }
  view.step = scale / view.width;
  return view;
}

ItemResult EncodeRenderResult(const RenderView& view, std::span<const std::uint8_t> rgb) {
  auto png = EncodePng(rgb, view.width, view.height);
  if (!png) return std::unexpected(png.error());
  std::string json = fmt::format(R"({{"format":"png","width":{},"height":{},"bytes":{}}})",
                                 view.width, view.height, png->size());
  return ItemOutput(std::move(json), std::move(*png), "image/png");
}

}  // namespace batchq
