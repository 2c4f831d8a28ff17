// RegistryGate: the registry's AccessControl in token mode (docs/auth.md).
//
// A /v2/ request proves who it is with a Bearer token from /auth/token, a
// robot's (or the enrolment) secret as Basic credentials, or a client
// certificate; or with nothing, as anonymous. A token is trusted for what
// its access claim grants. When it falls short, the account's live
// permissions decide the answer: 401 with error="insufficient_scope" if a
// better token would do, 403 DENIED if nothing would, with the protected-
// repository message (and an auth.denied event) when protection is why.
#pragma once

#include <string>

#include "auth/authenticator.h"
#include "auth/token_service.h"
#include "meta/meta_store.h"
#include "registry/access.h"

namespace custody::auth {

struct GateOptions {
  std::string realm;  // "" = derived from the Host header
  bool tls = false;   // for the derived realm's scheme
};

class RegistryGate final : public registry::AccessControl {
 public:
  RegistryGate(meta::MetaStore& meta, Authenticator& authn, TokenService& tokens, GateOptions options)
      : meta_(meta), authn_(authn), tokens_(tokens), options_(std::move(options)) {}

  std::expected<void, http::Response> authorize(http::Request& req, const std::string& repository,
                                                std::string_view act) override;
  bool also_allows(const http::Request& req, const std::string& repository, std::string_view act) override;

  // The token endpoint's URL as a client reaching us through `req` sees it.
  std::string realm(const http::Request& req) const;

 private:
  std::expected<void, http::Response> decide(http::Request& req, const Identity* who, const std::string& repository,
                                             std::string_view act);
  http::Response challenge(const http::Request& req, const std::string& repository, std::string_view act,
                           std::string_view error) const;
  http::Response denied(const http::Request& req, const Identity& who, const std::string& repository,
                        std::string_view act);

  meta::MetaStore& meta_;
  Authenticator& authn_;
  TokenService& tokens_;
  const GateOptions options_;
};

// The OCI error body {"errors":[{"code":…,"message":…,"detail":…}]}.
std::string oci_error_body(std::string_view code, std::string_view message);

}  // namespace custody::auth
