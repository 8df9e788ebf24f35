#pragma once
// Standard base64 (RFC 4648, '=' padding required), for float vectors sent as bytes and
// binary bodies inside JSON answers. Written here: Debian's Boost has it only in a
// detail namespace. Pure and thread-safe.

#include <string>
#include <string_view>

#include "common/error.h"

namespace batchq {

// invalid_input, saying what is wrong, on any byte outside the alphabet or bad padding.
Result<std::string> DecodeBase64(std::string_view text);
std::string EncodeBase64(std::string_view bytes);

}  // namespace batchq
