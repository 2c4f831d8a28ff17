// Base64url without padding (RFC 4648 §5, RFC 7515 §2), as JOSE and the
// secrets Custody hands out spell it.
//
// The decoder is strict: it accepts exactly one spelling of each byte
// string. No padding, no whitespace, no characters of the standard
// alphabet ('+', '/'), and the unused bits of the last character must be
// zero. A token that could be re-spelled without breaking its signature
// would be a second, "different" token with the same meaning.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace custody::auth {

std::string base64url_encode(std::span<const uint8_t> data);
inline std::string base64url_encode(std::string_view data) {
  return base64url_encode({reinterpret_cast<const uint8_t*>(data.data()), data.size()});
}

// kInvalidArgument unless `text` is the canonical unpadded encoding.
Result<std::vector<uint8_t>> base64url_decode(std::string_view text);

}  // namespace custody::auth
