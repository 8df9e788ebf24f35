// Operator-given text: a --type spec and a Redis URL.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/redis_connection.h"
#include "common/type_settings.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  batchq::TypeSettings defaults;
  defaults.name = "default";
  auto settings = batchq::ParseTypeSettings(text, defaults);
  if (settings) {
    // Durations are bounded: arithmetic on them must not overflow (UBSan checks).
    (void)(settings->max_delay + settings->default_timeout + settings->max_run);
  }
  (void)batchq::ParseRedisUrl(text);
  return 0;
}
