#include "auth/token_service.h"

#include <algorithm>

#include "auth/access_rules.h"
#include "common/digest.h"
#include "common/ids.h"
#include "common/time.h"

namespace custody::auth {
namespace {

std::string refresh_audience(const std::string& service) { return service + "/refresh"; }

bool holds(const std::vector<std::string>& actions, std::string_view a) {
  return std::find(actions.begin(), actions.end(), a) != actions.end();
}

// The asked actions that are held; "*" stands for every held action.
std::vector<std::string> intersect(const std::vector<std::string>& asked, const std::vector<std::string>& held) {
  std::vector<std::string> out;
  for (const auto& a : asked) {
    if (a == "*") {
      for (const auto& h : held)
        if (!holds(out, h)) out.push_back(h);
    } else if (holds(held, a) && !holds(out, a)) {
      out.push_back(a);
    }
  }
  return out;
}

Result<Claims> unauthenticated(Result<Claims> r) {
  if (r) return r;
  return fail(ErrorCode::kUnauthenticated, r.error().message);
}

}  // namespace

TokenService::TokenService(meta::MetaStore& meta, TokenKey key, TokenOptions options)
    : meta_(meta),
      options_(std::move(options)),
      signer_(key),
      access_verifier_({key.public_key()}, options_.issuer, options_.service),
      refresh_verifier_({key.public_key()}, options_.issuer, refresh_audience(options_.service)) {}

Result<auth::RepositoryAccess> TokenService::repository_access(const Identity* who, const std::string& repository) {
  auth::RepositoryAccess a;
  auto r = meta_.read([&](meta::Txn& t) -> Status {
    auto v = t.identity().access(who ? who->principal.name : "", repository);
    if (!v) return std::unexpected(v.error());
    a = *v;
    return {};
  });
  if (!r) return std::unexpected(r.error());
  return a;
}

Result<std::vector<std::string>> TokenService::held_actions(const Identity* who, const std::string& repository) {
  auto a = repository_access(who, repository);
  if (!a) return std::unexpected(a.error());
  return repository_actions(who ? &who->principal : nullptr, *a);
}

Result<bool> TokenService::denied_by_protection(const Identity* who, const std::string& repository,
                                                const std::string& action) {
  auto a = repository_access(who, repository);
  if (!a) return std::unexpected(a.error());
  return auth::denied_by_protection(who ? &who->principal : nullptr, *a, action);
}

Result<std::vector<Scope>> TokenService::grant(const Identity* who, std::span<const Scope> asked) {
  std::vector<Scope> granted;
  for (const Scope& s : asked) {
    Scope g = s;
    if (s.type == "registry") {
      bool admin = who && who->principal.system_admin;
      g.actions = admin && holds(s.actions, "*") ? std::vector<std::string>{"*"} : std::vector<std::string>{};
    } else if (!s.resource_class.empty() && s.resource_class != "image") {
      g.actions.clear();  // plugins and other classes are not served here
    } else {
      auto held = held_actions(who, s.name);
      if (!held) return std::unexpected(held.error());
      g.actions = intersect(s.actions, *held);
    }
    granted.push_back(std::move(g));
  }
  return granted;
}

Result<IssuedToken> TokenService::sign(const std::string& sub, std::string audience, int64_t ttl_s,
                                       std::vector<Scope> access, std::string amr) const {
  int64_t now = now_unix_ms() / 1000;
  Claims c;
  c.iss = options_.issuer;
  c.sub = sub;
  c.aud = {std::move(audience)};
  c.iat = now;
  c.nbf = now;
  c.exp = now + ttl_s;
  c.jti = random_uuid();
  c.access = std::move(access);
  c.amr = std::move(amr);
  auto token = signer_.sign(c);
  if (!token) return std::unexpected(token.error());
  return IssuedToken{std::move(*token), now, ttl_s};
}

Result<IssuedToken> TokenService::access_token(const Identity* who, std::vector<Scope> access) const {
  return sign(who ? who->principal.name : "", options_.service, options_.ttl_s, std::move(access),
              who ? who->method : "");
}

Result<IssuedToken> TokenService::refresh_token(const Identity& who) const {
  return sign(who.principal.name, refresh_audience(options_.service), options_.refresh_ttl_s, {}, who.method);
}

Result<Claims> TokenService::verify_access(std::string_view token) const {
  int64_t now = now_unix_ms() / 1000;
  Sha256 h;
  h.update(token);
  std::string key = h.finish().str();
  {
    std::lock_guard lock(verified_mu_);
    if (auto it = verified_.find(key); it != verified_.end()) {
      const Claims& c = it->second;
      if (now >= c.exp + kDefaultLeewaySeconds) return fail(ErrorCode::kUnauthenticated, "token has expired");
      if (now + kDefaultLeewaySeconds < c.nbf) return fail(ErrorCode::kUnauthenticated, "token is not valid yet (nbf)");
      return c;
    }
  }
  auto claims = unauthenticated(access_verifier_.verify(token, now));
  if (claims) {
    std::lock_guard lock(verified_mu_);
    if (verified_.size() >= kVerifiedCacheMax) verified_.clear();
    verified_.emplace(std::move(key), *claims);
  }
  return claims;
}

Result<Claims> TokenService::verify_refresh(std::string_view token) const {
  auto c = unauthenticated(refresh_verifier_.verify(token, now_unix_ms() / 1000));
  if (!c) return std::unexpected(c.error());
  if (c->sub.empty()) return fail(ErrorCode::kUnauthenticated, "refresh token names no account");
  return c;
}

}  // namespace custody::auth
