// Bearer tokens of the Docker Distribution token specification: compact
// JWS (RFC 7515) JSON Web Tokens (RFC 7519) signed with ES256 only.
//
// The verifier is deliberately narrow. It accepts exactly the tokens
// TokenSigner makes: header {"alg":"ES256","kid":...,"typ":"JWT"} naming a
// key pinned by value at construction, and every registered claim present
// with its JSON type. It never takes a key or an algorithm from the token
// (no "jwk", "jku", "x5u", "x5c"; no "none", no HMAC), which is what the
// classic JWT forgeries rely on.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "auth/scope.h"
#include "auth/token_key.h"
#include "common/error.h"

namespace custody::auth {

inline constexpr size_t kMaxTokenSize = 8 * 1024;
inline constexpr int64_t kDefaultLeewaySeconds = 60;
inline constexpr int64_t kMaxLeewaySeconds = 300;
// 9999-12-31T23:59:59Z. Bounds times so that adding a leeway cannot overflow.
inline constexpr int64_t kMaxNumericDate = 253402300799;

// The claims of a Custody token. Times are Unix seconds.
struct Claims {
  std::string iss;               // issuer: the token service's configured name
  std::string sub;               // subject: the principal ("" for anonymous)
  std::vector<std::string> aud;  // audiences; written as a plain string when there is one
  int64_t exp = 0;               // expires at (refused from exp on)
  int64_t nbf = 0;               // not valid before
  int64_t iat = 0;               // issued at
  std::string jti;               // unique token id
  std::vector<Scope> access;     // what the token grants; may be empty
  // How the subject authenticated to get the token ("password", "robot",
  // "certificate:…"): the RFC 8176 "amr" claim, one entry; "" = absent.
  std::string amr;

  friend bool operator==(const Claims&, const Claims&) = default;
};

class TokenSigner {
 public:
  explicit TokenSigner(TokenKey key) : key_(std::move(key)) {}

  const std::string& kid() const { return key_.kid(); }
  const TokenPublicKey& public_key() const { return key_.public_key(); }

  // The compact token "header.payload.signature". kInvalidArgument for
  // claims its own verifier would refuse (empty iss, aud or jti; times out
  // of range or exp <= nbf; invalid access entries; strings that are not
  // UTF-8); kResourceExhausted if the token would exceed kMaxTokenSize.
  Result<std::string> sign(const Claims& claims) const;

 private:
  TokenKey key_;
};

class TokenVerifier {
 public:
  // `keys` are the pinned keys, looked up by their kid. `leeway_s` absorbs
  // clock skew between nodes; it is clamped to [0, kMaxLeewaySeconds].
  TokenVerifier(std::vector<TokenPublicKey> keys, std::string issuer, std::string audience,
                int64_t leeway_s = kDefaultLeewaySeconds);

  // The claims of `token` if, at `now_s` (Unix seconds), it is well formed,
  // signed by a pinned key, from the expected issuer, meant for the
  // expected audience, and within its validity period. Otherwise
  // kInvalidArgument with a message saying why; every failure means the
  // request is unauthenticated (401). The message never contains the token.
  Result<Claims> verify(std::string_view token, int64_t now_s) const;

 private:
  Result<Claims> check_claims(Claims claims, int64_t now_s) const;

  std::map<std::string, TokenPublicKey, std::less<>> keys_;
  std::string issuer_;
  std::string audience_;
  int64_t leeway_s_;
};

}  // namespace custody::auth
