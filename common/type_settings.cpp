#include "common/type_settings.h"

#include <charconv>

#include <fmt/format.h>

namespace batchq {
namespace {

Result<std::uint64_t> ParseUnsigned(std::string_view key, std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    return Fail("invalid_setting", fmt::format("'{}' needs a whole number, got '{}'.", key, text));
  }
  return value;
}

}  // namespace

Result<TypeSettings> ParseTypeSettings(std::string_view spec, const TypeSettings& defaults) {
  TypeSettings settings = defaults;
  const auto colon = spec.find(':');
  settings.name = std::string(spec.substr(0, colon));
  if (settings.name.empty()) {
    return Fail("invalid_setting", fmt::format("Type setting '{}' has no type name.", spec));
  }
  if (colon == std::string_view::npos) return settings;

  std::string_view rest = spec.substr(colon + 1);
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) {
      return Fail("invalid_setting", fmt::format("'{}' is not key=value.", item));
    }
    const std::string_view key = item.substr(0, eq);
    auto value = ParseUnsigned(key, item.substr(eq + 1));
    if (!value) return std::unexpected(value.error());
    if (key == "max_batch_size") {
      if (*value == 0) return Fail("invalid_setting", "max_batch_size must be at least 1.");
      settings.max_batch_size = static_cast<std::uint32_t>(*value);
    } else if (key == "max_delay_ms") {
      settings.max_delay = std::chrono::milliseconds(*value);
    } else if (key == "max_delay_us") {
      settings.max_delay = std::chrono::microseconds(*value);
    } else if (key == "max_queue") {
      settings.max_queue = static_cast<std::uint32_t>(*value);
    } else {
      return Fail("invalid_setting", fmt::format("Unknown type setting '{}'.", key));
    }
  }
  return settings;
}

}  // namespace batchq
