#pragma once
// Encodes 8-bit RGB pixels as PNG with libpng, in memory. Favours speed (zlib level
// 1): a render job's image is produced once and fetched once.

#include <cstdint>
#include <span>
#include <string>

#include "common/error.h"

namespace batchq {

// `rgb` holds width * height * 3 bytes, rows top to bottom.
Result<std::string> EncodePng(std::span<const std::uint8_t> rgb, int width, int height);

}  // namespace batchq
