#include "auth/base64url.h"

#include <algorithm>
#include <array>

namespace custody::auth {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// -1 for every character outside the alphabet (including '=').
constexpr std::array<int8_t, 256> make_table() {
  std::array<int8_t, 256> table{};
  for (auto& v : table) v = -1;
  for (int i = 0; i < 64; ++i) table[static_cast<uint8_t>(kAlphabet[i])] = static_cast<int8_t>(i);
  return table;
}
constexpr std::array<int8_t, 256> kValues = make_table();

}  // namespace

std::string base64url_encode(std::span<const uint8_t> data) {
  std::string out;
  out.reserve((data.size() * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = uint32_t{data[i]} << 16 | uint32_t{data[i + 1]} << 8 | data[i + 2];
    for (int shift : {18, 12, 6, 0}) out.push_back(kAlphabet[(v >> shift) & 63]);
  }
  size_t rest = data.size() - i;
  if (rest == 0) return out;
  uint32_t v = uint32_t{data[i]} << 16 | (rest == 2 ? uint32_t{data[i + 1]} << 8 : 0);
  out.push_back(kAlphabet[(v >> 18) & 63]);
  out.push_back(kAlphabet[(v >> 12) & 63]);
  if (rest == 2) out.push_back(kAlphabet[(v >> 6) & 63]);
  return out;
}

Result<std::vector<uint8_t>> base64url_decode(std::string_view text) {
  // A lone trailing character carries only 6 bits: never a whole byte.
  if (text.size() % 4 == 1) return fail(ErrorCode::kInvalidArgument, "invalid base64url length");
  std::vector<uint8_t> out;
  out.reserve(text.size() * 3 / 4);
  for (size_t i = 0; i < text.size(); i += 4) {
    size_t digits = std::min<size_t>(4, text.size() - i);
    uint32_t v = 0;
    for (size_t j = 0; j < 4; ++j) {
      int8_t d = j < digits ? kValues[static_cast<uint8_t>(text[i + j])] : 0;
      if (d < 0) return fail(ErrorCode::kInvalidArgument, "invalid base64url character");
      v = v << 6 | static_cast<uint32_t>(d);
    }
    // Canonical form: the bits past the last whole byte must be zero.
    if ((digits == 3 && (v & 0xff) != 0) || (digits == 2 && (v & 0xffff) != 0))
      return fail(ErrorCode::kInvalidArgument, "non-canonical base64url");
    out.push_back(static_cast<uint8_t>(v >> 16));
    if (digits >= 3) out.push_back(static_cast<uint8_t>(v >> 8));
    if (digits == 4) out.push_back(static_cast<uint8_t>(v));
  }
  return out;
}

}  // namespace custody::auth
