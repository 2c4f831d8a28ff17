// Strict hex and base64 for the custody log's text formats.
//
// Decoders accept exactly one spelling of each byte string: base64 is the
// standard alphabet with padding (RFC 4648 §4) and unused bits must be zero;
// nothing else (whitespace, URL-safe characters, missing padding) passes.
// A log whose checkpoints could be re-spelled would hand attackers a free
// way to make "different" notes with the same meaning.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace custody::audit {

using Bytes = std::vector<uint8_t>;

// Lowercase hex.
std::string hex_encode(std::span<const uint8_t> data);

// Accepts upper- and lowercase digits; kInvalidArgument on odd length or a
// non-hex character.
Result<Bytes> hex_decode(std::string_view text);

std::string base64_encode(std::span<const uint8_t> data);

// kInvalidArgument unless `text` is the canonical padded encoding.
Result<Bytes> base64_decode(std::string_view text);

// The bytes of a string, without copying.
inline std::span<const uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace custody::audit
