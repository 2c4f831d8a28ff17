// AdminApi: the JSON API under /api/v1/ for accounts, organizations, teams,
// grants, robots, repository settings and certificate revocations
// (docs/auth.md). Every change commits with its custody-log event.
//
// Requests authenticate as at the token endpoint (Basic, Bearer, client
// certificate); robots are refused. Each id-addressed endpoint checks the
// caller's rights on that very object (the namespace in the path), and
// bodies are strict: unknown fields are refused, never applied.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "auth/authenticator.h"
#include "auth/token_service.h"
#include "http/message.h"
#include "meta/meta_store.h"

namespace custody::auth {

struct AdminApiOptions {
  bool passwords = true;
  uint32_t page_size_max = 1000;
};

class AdminApi {
 public:
  AdminApi(meta::MetaStore& meta, Authenticator& authn, TokenService& tokens, AdminApiOptions options)
      : meta_(meta), authn_(authn), tokens_(tokens), options_(options) {}

  // Any request whose path starts with /api/v1/.
  http::Response handle(http::Request& req);

  // One request being served: who asks, and what.
  struct Call {
    http::Request& req;
    const Identity& who;
    std::vector<std::string> path;  // segments after /api/v1/
  };

 private:
  Result<Identity> caller(http::Request& req);
  http::Response route(Call& call);
  http::Response users(Call& call);
  http::Response orgs(Call& call);
  http::Response org_resource(Call& call);
  http::Response teams(Call& call, const std::string& ns);
  http::Response grants(Call& call, const std::string& ns);
  http::Response robots(Call& call, const std::string& ns);
  http::Response repositories(Call& call);
  http::Response revocations(Call& call);

  http::Response create_user(Call& call);
  http::Response update_user(Call& call, const std::string& name);
  http::Response create_robot(Call& call, const std::string& ns);

  // Whether the caller administers namespace `ns` (or everything).
  Result<bool> administers(const Identity& who, const std::string& ns);
  // Runs `fn` in one transaction and appends its event (`e`, filled in
  // with the caller) in the same one; maps errors to JSON replies.
  http::Response change(Call& call, meta::Event e, const std::function<Status(meta::Txn&)>& fn, int status,
                        const nlohmann::json& reply);

  meta::MetaStore& meta_;
  Authenticator& authn_;
  TokenService& tokens_;
  const AdminApiOptions options_;
};

}  // namespace custody::auth
