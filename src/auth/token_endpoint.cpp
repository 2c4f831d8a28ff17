#include "auth/token_endpoint.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "auth/credentials.h"
#include "auth/registry_gate.h"
#include "common/time.h"
#include "pki/subject.h"

namespace custody::auth {
namespace {

using json = nlohmann::json;

http::Response reply(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers.set("Content-Type", "application/json");
  r.headers.set("Cache-Control", "no-store");
  r.route = "auth_token";
  return r;
}

http::Response error(int status, std::string_view code, std::string_view message) {
  return reply(status, oci_error_body(code, message));
}

std::vector<std::string> params(const std::vector<std::pair<std::string, std::string>>& query, std::string_view key) {
  std::vector<std::string> out;
  for (const auto& [k, v] : query)
    if (k == key) out.push_back(v);
  return out;
}

std::string param(const std::vector<std::pair<std::string, std::string>>& query, std::string_view key) {
  auto all = params(query, key);
  return all.empty() ? "" : all.front();
}

}  // namespace

http::Response TokenEndpoint::handle(http::Request& req) {
  if (req.method == "GET") return handle_get(req);
  if (req.method == "POST") return handle_post(req);
  auto r = error(405, "UNSUPPORTED", "use GET or POST");
  r.headers.set("Allow", "GET, POST");
  return r;
}

void TokenEndpoint::record_login(const http::Request& req, std::string actor, std::string method, std::string action,
                                 std::string detail_json) {
  meta::Event e;
  e.actor = std::move(actor);
  e.auth = std::move(method);
  e.source = req.remote_address;
  e.action = std::move(action);
  e.detail_json = std::move(detail_json);
  (void)meta::append_event(meta_, e);
}

http::Response TokenEndpoint::refused_login(const Error& e, std::string_view user, const http::Request& req) {
  if (e.code == ErrorCode::kResourceExhausted) {
    auto r = error(429, "TOO_MANY_REQUESTS", e.message);
    int64_t wait = authn_.retry_after_s(user, throttle_source(req.remote_address));
    r.headers.set("Retry-After", std::to_string(wait > 0 ? wait : 1));
    return r;
  }
  if (e.code != ErrorCode::kUnauthenticated) return error(500, "UNKNOWN", "metadata store unavailable");
  // The name is whatever the client sent: only a plausible account name is
  // recorded as such (never a password typed into the user field).
  std::string who = pki::is_plausible_identity_name(user) ? std::string(user) : "";
  record_login(req, who.empty() ? "anonymous" : who, "none", "auth.login_failed",
               json{{"user", who.empty() && !user.empty() ? "(not an account name)" : who}}.dump());
  auto r = error(401, "UNAUTHORIZED", "invalid credentials");
  r.headers.set("WWW-Authenticate", "Basic realm=\"custody\"");
  return r;
}

http::Response TokenEndpoint::answer(http::Request& req, const Identity* who,
                                     const std::vector<std::string>& scope_params, bool offline,
                                     const std::string& reuse_refresh, bool oauth) {
  if (who) {
    req.principal = who->principal.name;
    req.auth_method = who->method;
  }
  auto asked = parse_scopes(scope_params);
  if (!asked) return error(400, "INVALID", "invalid scope: " + asked.error().message);
  auto granted = tokens_.grant(who, *asked);
  if (!granted) return error(500, "UNKNOWN", "metadata store unavailable");
  std::string scope_text = format_scopes(*granted);
  if (who) record_login(req, who->principal.name, who->method, "auth.login", json{{"granted", scope_text}}.dump());
  auto token = tokens_.access_token(who, std::move(*granted));
  if (!token) return error(500, "UNKNOWN", "cannot sign the token");
  json body = {{"access_token", token->token},
               {"expires_in", token->expires_in_s},
               {"issued_at", format_rfc3339(token->issued_at_s * 1000)}};
  if (oauth) {
    body["scope"] = scope_text;
    body["token_type"] = "Bearer";
  } else {
    body["token"] = token->token;
  }
  if (who && !reuse_refresh.empty()) {
    body["refresh_token"] = reuse_refresh;
  } else if (who && offline) {
    auto refresh = tokens_.refresh_token(*who);
    if (!refresh) return error(500, "UNKNOWN", "cannot sign the token");
    body["refresh_token"] = refresh->token;
  }
  return reply(200, body.dump());
}

http::Response TokenEndpoint::handle_get(http::Request& req) {
  std::string service = param(req.query, "service");
  if (!service.empty() && service != tokens_.options().service)
    return error(400, "INVALID", fmt::format("unknown service; this is \"{}\"", tokens_.options().service));
  bool offline = param(req.query, "offline_token") == "true";
  Credentials creds = parse_authorization(req.headers.get("Authorization"));
  std::optional<Identity> who;
  if (creds.kind == Credentials::Kind::kBasic) {
    auto r = authn_.basic(creds.user, creds.secret, throttle_source(req.remote_address));
    if (!r) return refused_login(r.error(), creds.user, req);
    who = std::move(*r);
  } else if (creds.kind != Credentials::Kind::kNone) {
    return refused_login(Error{ErrorCode::kUnauthenticated, "invalid credentials"}, "", req);
  } else if (!req.peer_certificate.empty()) {
    auto r = authn_.certificate(req.peer_certificate);
    if (!r) return refused_login(r.error(), "", req);
    who = std::move(*r);
  }
  return answer(req, who ? &*who : nullptr, params(req.query, "scope"), offline, "", false);
}

http::Response TokenEndpoint::handle_post(http::Request& req) {
  std::string text;
  if (auto s = http::read_body(req, 16 * 1024, text); !s) return error(413, "SIZE_INVALID", "form too large");
  auto form = http::parse_query(text);
  std::string service = param(form, "service");
  if (!service.empty() && service != tokens_.options().service)
    return error(400, "INVALID", fmt::format("unknown service; this is \"{}\"", tokens_.options().service));
  std::string grant = param(form, "grant_type");
  bool offline = param(form, "access_type") == "offline";
  std::vector<std::string> scopes;
  if (auto s = param(form, "scope"); !s.empty()) scopes.push_back(s);
  if (grant == "password") {
    std::string user = param(form, "username");
    auto who = authn_.basic(user, param(form, "password"), throttle_source(req.remote_address));
    if (!who) return refused_login(who.error(), user, req);
    return answer(req, &*who, scopes, offline, "", true);
  }
  if (grant == "refresh_token") {
    std::string refresh = param(form, "refresh_token");
    auto claims = tokens_.verify_refresh(refresh);
    if (!claims) return refused_login(claims.error(), "", req);
    // The new tokens keep saying how the account first authenticated.
    auto who = authn_.account(claims->sub, claims->amr.empty() ? "refresh" : claims->amr);
    if (!who) return refused_login(who.error(), "", req);
    return answer(req, &*who, scopes, false, refresh, true);
  }
  return error(400, "UNSUPPORTED", "grant_type must be password or refresh_token");
}

}  // namespace custody::auth
