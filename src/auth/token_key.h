// The ECDSA P-256 keys that sign and verify Custody's bearer tokens (JWS
// "ES256", RFC 7518 §3.4), through OpenSSL 3's EVP interface.
//
// Key ids follow Docker's libtrust convention, which CNCF Distribution and
// the common token servers use for the JWT "kid": SHA-256 of the key's
// SubjectPublicKeyInfo DER, first 240 bits, base32 (RFC 4648, no padding),
// in twelve groups of four joined by ':' ("ABCD:EFGH:...:WXYZ"). It is
// stable (derived from the public key alone), so every node sharing a key
// names it the same way, and a Distribution registry can pin the same key.
//
// Keys are immutable after construction and cheap to copy (copies share
// one OpenSSL object); OpenSSL 3 allows concurrent signing and verification
// with a shared, unmodified key, so both classes are thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/error.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace custody::auth {

using Es256Signature = std::array<uint8_t, 64>;  // r || s, each 32 bytes big-endian

// A public key pinned by value (never fetched, never read from a token).
class TokenPublicKey {
 public:
  // "-----BEGIN PUBLIC KEY-----" (SubjectPublicKeyInfo) of a named-curve
  // P-256 key. kInvalidArgument for anything else (other curves or
  // algorithms, explicit curve parameters, points off the curve).
  static Result<TokenPublicKey> from_pem(std::string_view pem);

  const std::string& kid() const { return kid_; }
  std::string pem() const;
  // The RFC 7517 JWK, e.g. for a JWKS document or the docs:
  // {"alg":"ES256","crv":"P-256","kid":...,"kty":"EC","use":"sig","x":...,"y":...}
  std::string jwk() const;

  // True only for a valid ES256 signature of `message`. Any other length
  // than 64 bytes, r or s out of range, or a forgery gives false.
  bool verify(std::string_view message, std::span<const uint8_t> signature) const;

 private:
  friend class TokenKey;
  static Result<TokenPublicKey> from_pkey(const evp_pkey_st* key);

  std::shared_ptr<evp_pkey_st> key_;
  std::array<uint8_t, 91> spki_{};  // the canonical DER, from which kid and JWK come
  std::string kid_;
};

// A private signing key. Its PEM is a secret: never log it.
class TokenKey {
 public:
  // A fresh key from OpenSSL's CSPRNG.
  static Result<TokenKey> generate();
  // An unencrypted PKCS#8 ("BEGIN PRIVATE KEY") or SEC1 ("BEGIN EC
  // PRIVATE KEY") P-256 key. Encrypted keys are refused, never prompted for.
  static Result<TokenKey> from_pem(std::string_view pem);

  const TokenPublicKey& public_key() const { return public_; }
  const std::string& kid() const { return public_.kid(); }
  // PKCS#8 PEM, for writing the key file.
  Result<std::string> private_pem() const;

  // ES256 over `message` (SHA-256, then ECDSA), as raw r || s.
  Result<Es256Signature> sign(std::string_view message) const;

 private:
  TokenKey(std::shared_ptr<evp_pkey_st> key, TokenPublicKey pub) : key_(std::move(key)), public_(std::move(pub)) {}

  std::shared_ptr<evp_pkey_st> key_;
  TokenPublicKey public_;
};

// The libtrust key id of a SubjectPublicKeyInfo DER (see above).
std::string libtrust_key_id(std::span<const uint8_t> spki_der);

}  // namespace custody::auth
