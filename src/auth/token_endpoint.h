// TokenEndpoint: /auth/token, Docker's token authentication endpoint
// (GET with Basic credentials) and its OAuth2 form (POST with
// grant_type=password or refresh_token). See docs/auth.md.
#pragma once

#include "auth/authenticator.h"
#include "auth/token_service.h"
#include "http/message.h"
#include "meta/meta_store.h"

namespace custody::auth {

class TokenEndpoint {
 public:
  TokenEndpoint(meta::MetaStore& meta, Authenticator& authn, TokenService& tokens)
      : meta_(meta), authn_(authn), tokens_(tokens) {}

  http::Response handle(http::Request& req);

 private:
  http::Response handle_get(http::Request& req);
  http::Response handle_post(http::Request& req);
  http::Response answer(http::Request& req, const Identity* who, const std::vector<std::string>& scope_params,
                        bool offline, const std::string& reuse_refresh, bool oauth);
  http::Response refused_login(const Error& e, std::string_view user, const http::Request& req);

  // Logins are state changes too: each credentialed token issued, and each
  // refused login, is an event (auth.login, auth.login_failed).
  void record_login(const http::Request& req, std::string actor, std::string method, std::string action,
                    std::string detail_json);

  meta::MetaStore& meta_;
  Authenticator& authn_;
  TokenService& tokens_;
};

}  // namespace custody::auth
