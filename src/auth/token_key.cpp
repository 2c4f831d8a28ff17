#include "auth/token_key.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <algorithm>
#include <vector>

#include <nlohmann/json.hpp>

#include "auth/base64url.h"

namespace custody::auth {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};
struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigFree>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

constexpr size_t kMaxPemSize = 16 * 1024;
constexpr size_t kCoordinateSize = 32;
constexpr int kCoordinateBytes = static_cast<int>(kCoordinateSize);

// SubjectPublicKeyInfo of a named-curve P-256 key with an uncompressed
// point: everything up to and including the 0x04 of 0x04 || X || Y. Requiring exactly this
// prefix refuses other curves, explicit parameters and compressed points
// in one comparison, and makes the DER (hence the kid) canonical.
constexpr std::array<uint8_t, 27> kP256SpkiPrefix = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
    0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04};

std::shared_ptr<evp_pkey_st> share(EVP_PKEY* key) { return std::shared_ptr<evp_pkey_st>(key, EVP_PKEY_free); }

// OpenSSL's default is to prompt on the terminal for an encrypted PEM; a
// server must never block on that, so the key is simply refused.
int no_passphrase(char*, int, int, void*) { return -1; }

Result<BioPtr> pem_bio(std::string_view pem) {
  if (pem.size() > kMaxPemSize) return fail(ErrorCode::kInvalidArgument, "PEM key is too large");
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return fail(ErrorCode::kInternal, "out of memory reading a PEM key");
  return bio;
}

Result<std::string> bio_text(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  if (len <= 0 || !data) return fail(ErrorCode::kInternal, "cannot encode the key as PEM");
  return std::string(data, static_cast<size_t>(len));
}

bool public_key_is_valid(EVP_PKEY* key) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  return ctx && EVP_PKEY_public_check(ctx.get()) == 1;
}

bool private_key_is_valid(EVP_PKEY* key) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  return ctx && EVP_PKEY_check(ctx.get()) == 1;
}

// The DER ECDSA-Sig-Value that OpenSSL verifies, from JOSE's r || s.
std::vector<uint8_t> der_signature(std::span<const uint8_t> raw) {
  BnPtr r(BN_bin2bn(raw.data(), kCoordinateBytes, nullptr));
  BnPtr s(BN_bin2bn(raw.data() + kCoordinateSize, kCoordinateBytes, nullptr));
  EcdsaSigPtr sig(ECDSA_SIG_new());
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return {};
  (void)r.release();  // owned by sig now
  (void)s.release();
  int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return {};
  std::vector<uint8_t> der(static_cast<size_t>(len));
  unsigned char* p = der.data();
  if (i2d_ECDSA_SIG(sig.get(), &p) != len) return {};
  return der;
}

Result<Es256Signature> raw_signature(std::span<const uint8_t> der) {
  const unsigned char* p = der.data();
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) return fail(ErrorCode::kInternal, "OpenSSL returned an unreadable ECDSA signature");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  Es256Signature out{};
  if (BN_bn2binpad(r, out.data(), kCoordinateBytes) != kCoordinateBytes ||
      BN_bn2binpad(s, out.data() + kCoordinateSize, kCoordinateBytes) != kCoordinateBytes)
    return fail(ErrorCode::kInternal, "ECDSA signature component out of range");
  return out;
}

}  // namespace

std::string libtrust_key_id(std::span<const uint8_t> spki_der) {
  static constexpr char kBase32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::array<uint8_t, SHA256_DIGEST_LENGTH> hash{};
  SHA256(spki_der.data(), spki_der.size(), hash.data());
  // 30 bytes = 240 bits = exactly 48 base32 digits, so no padding arises.
  std::string digits;
  for (size_t i = 0; i < 30; i += 5) {
    uint64_t v = 0;
    for (size_t j = 0; j < 5; ++j) v = v << 8 | hash[i + j];
    for (int shift = 35; shift >= 0; shift -= 5) digits.push_back(kBase32[(v >> shift) & 31]);
  }
  std::string out;
  for (size_t i = 0; i < digits.size(); i += 4) {
    if (i > 0) out.push_back(':');
    out.append(digits, i, 4);
  }
  return out;
}

Result<TokenPublicKey> TokenPublicKey::from_pkey(const evp_pkey_st* key) {
  int len = i2d_PUBKEY(key, nullptr);
  TokenPublicKey out;
  if (len != static_cast<int>(out.spki_.size()))
    return fail(ErrorCode::kInvalidArgument, "token keys must be ECDSA P-256 keys");
  unsigned char* p = out.spki_.data();
  if (i2d_PUBKEY(key, &p) != len || !std::equal(kP256SpkiPrefix.begin(), kP256SpkiPrefix.end(), out.spki_.begin()))
    return fail(ErrorCode::kInvalidArgument, "token keys must be named-curve ECDSA P-256 keys");
  // A public-only copy, so that no private key material is shared with
  // verifiers built from a signer's key.
  const unsigned char* in = out.spki_.data();
  out.key_ = share(d2i_PUBKEY(nullptr, &in, len));
  if (!out.key_ || !public_key_is_valid(out.key_.get()))
    return fail(ErrorCode::kInvalidArgument, "invalid P-256 public key");
  out.kid_ = libtrust_key_id(out.spki_);
  return out;
}

Result<TokenPublicKey> TokenPublicKey::from_pem(std::string_view pem) {
  auto bio = pem_bio(pem);
  if (!bio) return std::unexpected(bio.error());
  auto key = share(PEM_read_bio_PUBKEY(bio->get(), nullptr, no_passphrase, nullptr));
  if (!key) return fail(ErrorCode::kInvalidArgument, "not a PEM public key (BEGIN PUBLIC KEY)");
  return from_pkey(key.get());
}

std::string TokenPublicKey::pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key_.get()) != 1) return {};
  auto text = bio_text(bio.get());
  return text ? *text : std::string();
}

std::string TokenPublicKey::jwk() const {
  auto coordinate = [&](size_t offset) {
    return base64url_encode(std::span(spki_).subspan(offset, kCoordinateSize));
  };
  nlohmann::json j = {{"kty", "EC"},   {"crv", "P-256"},   {"alg", "ES256"}, {"use", "sig"},
                      {"kid", kid_},   {"x", coordinate(kP256SpkiPrefix.size())},
                      {"y", coordinate(kP256SpkiPrefix.size() + kCoordinateSize)}};
  return j.dump();
}

bool TokenPublicKey::verify(std::string_view message, std::span<const uint8_t> signature) const {
  if (!key_ || signature.size() != std::tuple_size_v<Es256Signature>) return false;
  std::vector<uint8_t> der = der_signature(signature);
  MdCtxPtr ctx(EVP_MD_CTX_new());
  return !der.empty() && ctx &&
         EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), der.data(), der.size(), reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

Result<TokenKey> TokenKey::generate() {
  auto key = share(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return fail(ErrorCode::kInternal, "cannot generate a P-256 key");
  auto pub = TokenPublicKey::from_pkey(key.get());
  if (!pub) return std::unexpected(pub.error());
  return TokenKey(std::move(key), std::move(*pub));
}

Result<TokenKey> TokenKey::from_pem(std::string_view pem) {
  auto bio = pem_bio(pem);
  if (!bio) return std::unexpected(bio.error());
  auto key = share(PEM_read_bio_PrivateKey(bio->get(), nullptr, no_passphrase, nullptr));
  if (!key) return fail(ErrorCode::kInvalidArgument, "not an unencrypted PEM private key");
  auto pub = TokenPublicKey::from_pkey(key.get());
  if (!pub) return std::unexpected(pub.error());
  if (!private_key_is_valid(key.get()))
    return fail(ErrorCode::kInvalidArgument, "the private key does not match its public key");
  return TokenKey(std::move(key), std::move(*pub));
}

Result<std::string> TokenKey::private_pem() const {
  // Secure-heap memory is cleansed when freed.
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return fail(ErrorCode::kInternal, "cannot encode the private key as PEM");
  return bio_text(bio.get());
}

Result<Es256Signature> TokenKey::sign(std::string_view message) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::array<uint8_t, 80> der{};  // a P-256 ECDSA-Sig-Value is at most 72 bytes
  size_t len = der.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), der.data(), &len, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1)
    return fail(ErrorCode::kInternal, "ES256 signing failed");
  return raw_signature(std::span(der.data(), len));
}

}  // namespace custody::auth
