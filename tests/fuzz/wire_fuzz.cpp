// A message from a peer: two frames (header, body), split where the first byte says,
// through the msgpack decoder; what decodes must encode again.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/wire.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t split = std::min<std::size_t>(data[0], rest.size());
  auto message = batchq::wire::Decode(rest.substr(0, split), rest.substr(split));
  if (message) (void)batchq::wire::Encode(*message);
  return 0;
}
