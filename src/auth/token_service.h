// TokenService: what the token endpoint grants and the registry checks.
// Grants follow the RBAC rules (auth/access_rules.h) against the metadata
// store; tokens are ES256 JWTs signed with the server's key (auth/jwt.h).
//
// Refresh tokens (Docker's offline_token, OAuth2's refresh_token) are JWTs
// of the same key for a different audience ("<service>/refresh") with no
// access: an access token is never accepted as one, nor the reverse. They
// name the account only, so disabling the account ends them.
#pragma once

#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth/authenticator.h"
#include "auth/jwt.h"
#include "auth/scope.h"
#include "meta/meta_store.h"

namespace custody::auth {

struct TokenOptions {
  std::string service = "custody";
  std::string issuer = "custody";
  int64_t ttl_s = 300;
  int64_t refresh_ttl_s = 30 * 24 * 3600;
};

struct IssuedToken {
  std::string token;
  int64_t issued_at_s = 0;
  int64_t expires_in_s = 0;
};

class TokenService {
 public:
  TokenService(meta::MetaStore& meta, TokenKey key, TokenOptions options);

  const TokenOptions& options() const { return options_; }

  // Of what was asked, what `who` (nullptr: anonymous) holds: every asked
  // scope comes back, with only the granted actions (possibly none).
  Result<std::vector<Scope>> grant(const Identity* who, std::span<const Scope> asked);

  // The repository actions `who` holds on `repository` now.
  Result<std::vector<std::string>> held_actions(const Identity* who, const std::string& repository);
  // True if `who` would hold `action` on `repository` but for protection.
  Result<bool> denied_by_protection(const Identity* who, const std::string& repository, const std::string& action);

  Result<IssuedToken> access_token(const Identity* who, std::vector<Scope> access) const;
  Result<IssuedToken> refresh_token(const Identity& who) const;

  // kUnauthenticated, saying why, for anything but a valid token of ours.
  Result<Claims> verify_access(std::string_view token) const;
  // The claims of a valid refresh token (its sub names an account).
  Result<Claims> verify_refresh(std::string_view token) const;

 private:
  Result<auth::RepositoryAccess> repository_access(const Identity* who, const std::string& repository);
  Result<IssuedToken> sign(const std::string& sub, std::string audience, int64_t ttl_s,
                           std::vector<Scope> access, std::string amr) const;

  meta::MetaStore& meta_;
  const TokenOptions options_;
  TokenSigner signer_;
  TokenVerifier access_verifier_;
  TokenVerifier refresh_verifier_;

  // Access tokens whose signature checked out, by the SHA-256 of their
  // text: a client sends the same token with every request of a pull, and
  // an ECDSA verification costs more than serving a manifest. Times are
  // still checked on every use. Cleared when full.
  static constexpr size_t kVerifiedCacheMax = 4096;
  mutable std::mutex verified_mu_;
  mutable std::unordered_map<std::string, Claims> verified_;  // guarded by verified_mu_
};

}  // namespace custody::auth
