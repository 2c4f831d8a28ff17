// SHA256_CTX is deprecated in OpenSSL 3 but it is the only interface whose
// state is a plain struct we can persist (EVP contexts cannot be serialized).
// It runs the same SHA-NI assembly as EVP.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "common/digest.h"

#include <openssl/sha.h>

#include <cstring>

namespace custody {
namespace {

static_assert(sizeof(SHA256_CTX) <= Sha256::kStateSize);

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
bool is_alg_component(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alg_separator(char c) { return c == '+' || c == '.' || c == '_' || c == '-'; }
bool is_encoded_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '=' ||
         c == '_' || c == '-';
}

// algorithm ::= component (separator component)*, component ::= [a-z0-9]+
bool valid_algorithm(std::string_view alg) {
  if (alg.empty() || alg.size() > 32) return false;
  bool need_component = true;
  for (char c : alg) {
    if (is_alg_component(c)) {
      need_component = false;
    } else if (is_alg_separator(c) && !need_component) {
      need_component = true;
    } else {
      return false;
    }
  }
  return !need_component;
}

std::string to_hex(const unsigned char* p, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[p[i] >> 4];
    out[2 * i + 1] = kHex[p[i] & 15];
  }
  return out;
}

SHA256_CTX* ctx_of(std::array<std::byte, Sha256::kStateSize>& raw) {
  return reinterpret_cast<SHA256_CTX*>(raw.data());
}

}  // namespace

Result<Digest> Digest::parse(std::string_view text) {
  if (text.size() > 256) return fail(ErrorCode::kInvalidArgument, "digest too long");
  auto colon = text.find(':');
  if (colon == std::string_view::npos)
    return fail(ErrorCode::kInvalidArgument, "digest has no algorithm prefix");
  std::string_view alg = text.substr(0, colon);
  std::string_view enc = text.substr(colon + 1);
  if (!valid_algorithm(alg)) return fail(ErrorCode::kInvalidArgument, "invalid digest algorithm");
  if (enc.empty()) return fail(ErrorCode::kInvalidArgument, "empty digest encoding");
  for (char c : enc)
    if (!is_encoded_char(c)) return fail(ErrorCode::kInvalidArgument, "invalid digest encoding");
  if (alg == "sha256") {
    if (enc.size() != 64) return fail(ErrorCode::kInvalidArgument, "sha256 digest must be 64 hex characters");
    for (char c : enc)
      if (!is_lower_hex(c)) return fail(ErrorCode::kInvalidArgument, "sha256 digest must be lowercase hex");
    return Digest(std::string(text));
  }
  if (alg == "sha512") {
    if (enc.size() != 128) return fail(ErrorCode::kInvalidArgument, "sha512 digest must be 128 hex characters");
    return fail(ErrorCode::kUnimplemented, "only sha256 digests are supported");
  }
  return fail(ErrorCode::kUnimplemented, "unsupported digest algorithm");
}

Digest Digest::from_raw_sha256(const std::array<uint8_t, 32>& raw) {
  return Digest("sha256:" + to_hex(raw.data(), raw.size()));
}

Digest Digest::of(std::span<const std::byte> data) {
  Sha256 h;
  h.update(data);
  return h.finish();
}

Digest Digest::of(std::string_view data) { return of(std::as_bytes(std::span(data.data(), data.size()))); }

Sha256::Sha256() { SHA256_Init(ctx_of(ctx_)); }

void Sha256::update(std::span<const std::byte> data) {
  SHA256_Update(ctx_of(ctx_), data.data(), data.size());
}

void Sha256::update(std::string_view data) { update(std::as_bytes(std::span(data.data(), data.size()))); }

Digest Sha256::finish() const {
  auto copy = ctx_;
  std::array<uint8_t, 32> raw{};
  SHA256_Final(raw.data(), ctx_of(copy));
  return Digest::from_raw_sha256(raw);
}

std::string Sha256::save_state() const {
  return std::string(reinterpret_cast<const char*>(ctx_.data()), sizeof(SHA256_CTX));
}

Result<Sha256> Sha256::restore_state(std::string_view state) {
  if (state.size() != sizeof(SHA256_CTX)) return fail(ErrorCode::kDataLoss, "hash state has the wrong size");
  Sha256 h;
  std::memcpy(h.ctx_.data(), state.data(), state.size());
  // A SHA256_CTX holds the message length in bits (Nl/Nh) and a block
  // position (num) that must stay below the block size.
  const SHA256_CTX* c = ctx_of(h.ctx_);
  if (c->num >= SHA256_CBLOCK || c->md_len != SHA256_DIGEST_LENGTH) return fail(ErrorCode::kDataLoss, "hash state is corrupt");
  return h;
}

}  // namespace custody
