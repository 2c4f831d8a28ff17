#include "audit/encoding.h"

#include <array>

namespace custody::audit {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kBase64Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// -1 for characters outside the alphabet (including '=').
constexpr std::array<int8_t, 256> make_base64_table() {
  std::array<int8_t, 256> table{};
  for (auto& v : table) v = -1;
  for (int i = 0; i < 64; ++i) table[static_cast<uint8_t>(kBase64Alphabet[i])] = static_cast<int8_t>(i);
  return table;
}
constexpr std::array<int8_t, 256> kBase64Values = make_base64_table();

}  // namespace

std::string hex_encode(std::span<const uint8_t> data) {
  std::string out(data.size() * 2, '0');
  for (size_t i = 0; i < data.size(); ++i) {
    out[2 * i] = kHexDigits[data[i] >> 4];
    out[2 * i + 1] = kHexDigits[data[i] & 15];
  }
  return out;
}

Result<Bytes> hex_decode(std::string_view text) {
  if (text.size() % 2 != 0) return fail(ErrorCode::kInvalidArgument, "hex string has odd length");
  Bytes out(text.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = hex_value(text[2 * i]);
    int lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return fail(ErrorCode::kInvalidArgument, "invalid hex digit");
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

std::string base64_encode(std::span<const uint8_t> data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = uint32_t{data[i]} << 16 | uint32_t{data[i + 1]} << 8 | data[i + 2];
    for (int shift : {18, 12, 6, 0}) out.push_back(kBase64Alphabet[(v >> shift) & 63]);
  }
  size_t rest = data.size() - i;
  if (rest == 0) return out;
  uint32_t v = uint32_t{data[i]} << 16 | (rest == 2 ? uint32_t{data[i + 1]} << 8 : 0);
  out.push_back(kBase64Alphabet[(v >> 18) & 63]);
  out.push_back(kBase64Alphabet[(v >> 12) & 63]);
  out.push_back(rest == 2 ? kBase64Alphabet[(v >> 6) & 63] : '=');
  out.push_back('=');
  return out;
}

Result<Bytes> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return fail(ErrorCode::kInvalidArgument, "base64 length is not a multiple of 4");
  size_t padding = 0;
  if (!text.empty() && text.back() == '=') padding = text[text.size() - 2] == '=' ? 2 : 1;
  Bytes out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    size_t digits = last ? 4 - padding : 4;
    uint32_t v = 0;
    for (size_t j = 0; j < 4; ++j) {
      int8_t d = j < digits ? kBase64Values[static_cast<uint8_t>(text[i + j])] : 0;
      if (d < 0) return fail(ErrorCode::kInvalidArgument, "invalid base64 character");
      v = v << 6 | static_cast<uint32_t>(d);
    }
    // Canonical form: the bits that padding drops must be zero.
    if ((digits == 3 && (v & 0xff) != 0) || (digits == 2 && (v & 0xffff) != 0))
      return fail(ErrorCode::kInvalidArgument, "non-canonical base64");
    out.push_back(static_cast<uint8_t>(v >> 16));
    if (digits >= 3) out.push_back(static_cast<uint8_t>(v >> 8));
    if (digits == 4) out.push_back(static_cast<uint8_t>(v));
  }
  return out;
}

}  // namespace custody::audit
