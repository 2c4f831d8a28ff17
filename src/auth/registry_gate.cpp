#include "auth/registry_gate.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "auth/credentials.h"

namespace custody::auth {
namespace {

using json = nlohmann::json;
using registry::action::kAny;
using registry::action::kCatalog;

bool holds(const std::vector<std::string>& actions, std::string_view a) {
  return std::find(actions.begin(), actions.end(), a) != actions.end();
}

// Whether a token's access claim covers `act` on `repository`.
bool token_grants(const Claims& c, const std::string& repository, std::string_view act) {
  if (act == kAny) return true;
  for (const Scope& s : c.access) {
    if (act == kCatalog) {
      if (s.type == "registry" && s.name == "catalog" && holds(s.actions, "*")) return true;
    } else if (s.type == "repository" && s.name == repository && (holds(s.actions, act) || holds(s.actions, "*"))) {
      return true;
    }
  }
  return false;
}

// A Host header fit to put in a URL: host or host:port, nothing else.
bool plausible_host(std::string_view h) {
  if (h.empty() || h.size() > 255) return false;
  return std::all_of(h.begin(), h.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
  });
}

http::Response error_reply(int status, std::string_view code, std::string_view message) {
  http::Response r;
  r.status = status;
  r.body = oci_error_body(code, message);
  r.headers.set("Content-Type", "application/json");
  return r;
}

}  // namespace

std::string oci_error_body(std::string_view code, std::string_view message) {
  json body = {{"errors", json::array({{{"code", code}, {"message", message}, {"detail", nullptr}}})}};
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string RegistryGate::realm(const http::Request& req) const {
  if (!options_.realm.empty()) return options_.realm;
  auto host = req.headers.get("Host");
  std::string h = host && plausible_host(*host) ? std::string(*host) : "127.0.0.1";
  return fmt::format("{}://{}/auth/token", options_.tls ? "https" : "http", h);
}

http::Response RegistryGate::challenge(const http::Request& req, const std::string& repository, std::string_view act,
                                       std::string_view error) const {
  std::string value = fmt::format("Bearer realm=\"{}\",service=\"{}\"", realm(req), tokens_.options().service);
  if (act == kCatalog) {
    value += ",scope=\"registry:catalog:*\"";
  } else if (act != kAny) {
    value += fmt::format(",scope=\"repository:{}:{}\"", repository, act == "push" ? "pull,push" : std::string(act));
  }
  if (!error.empty()) value += fmt::format(",error=\"{}\"", error);
  auto r = error_reply(401, "UNAUTHORIZED", "authentication required");
  r.headers.set("WWW-Authenticate", std::move(value));
  return r;
}

http::Response RegistryGate::denied(const http::Request& req, const Identity& who, const std::string& repository,
                                    std::string_view act) {
  std::string a(act);
  auto prot = act == kCatalog ? Result<bool>(false) : tokens_.denied_by_protection(&who, repository, a);
  if (!prot) return error_reply(500, "UNKNOWN", "metadata store unavailable");
  if (!*prot) return error_reply(403, "DENIED", "requested access to the resource is denied");
  meta::Event e;
  e.actor = who.principal.name;
  e.auth = who.method;
  e.source = req.remote_address;
  e.action = "auth.denied";
  e.repository = repository;
  e.detail_json = json{{"action", a}, {"reason", "protected"}}.dump();
  (void)meta::append_event(meta_, e);
  return error_reply(403, "DENIED",
                     fmt::format("repository {} is protected: only robot accounts and Custody's policies may "
                                 "write to it; content arrives here by promotion from another repository",
                                 repository));
}

std::expected<void, http::Response> RegistryGate::decide(http::Request& req, const Identity* who,
                                                         const std::string& repository, std::string_view act) {
  bool allowed = act == kAny;
  if (act == kCatalog) {
    allowed = who && who->principal.system_admin;
  } else if (!allowed) {
    auto held = tokens_.held_actions(who, repository);
    if (!held) return std::unexpected(error_reply(500, "UNKNOWN", "metadata store unavailable"));
    allowed = holds(*held, act);
  }
  if (who) {  // refusals too: the access log says who was refused
    req.principal = who->principal.name;
    req.auth_method = who->method;
  }
  if (allowed) return {};
  if (!who) return std::unexpected(challenge(req, repository, act, ""));
  return std::unexpected(denied(req, *who, repository, act));
}

std::expected<void, http::Response> RegistryGate::authorize(http::Request& req, const std::string& repository,
                                                            std::string_view act) {
  Credentials creds = parse_authorization(req.headers.get("Authorization"));
  switch (creds.kind) {
    case Credentials::Kind::kMalformed: return std::unexpected(challenge(req, repository, act, "invalid_request"));
    case Credentials::Kind::kBearer: {
      auto claims = tokens_.verify_access(creds.secret);
      if (!claims) return std::unexpected(challenge(req, repository, act, "invalid_token"));
      std::string method = claims->amr.empty() ? "token" : "token:" + claims->amr;
      if (token_grants(*claims, repository, act)) {
        // A disabled, revoked or expired account loses its tokens at once,
        // not when they expire.
        if (!claims->sub.empty() && !authn_.account(claims->sub, method))
          return std::unexpected(challenge(req, repository, act, "invalid_token"));
        if (!claims->sub.empty()) req.principal = claims->sub;
        req.auth_method = method;
        return {};
      }
      if (claims->sub.empty()) {
        auto anon = decide(req, nullptr, repository, act);
        if (anon) return std::unexpected(challenge(req, repository, act, "insufficient_scope"));
        return anon;
      }
      auto who = authn_.account(claims->sub, method);
      if (!who) return std::unexpected(challenge(req, repository, act, "invalid_token"));
      auto live = decide(req, &*who, repository, act);
      if (live) return std::unexpected(challenge(req, repository, act, "insufficient_scope"));
      return live;
    }
    case Credentials::Kind::kBasic: {
      // Only secrets here: a password check per request would hand out a
      // cheap denial of service (passwords go to the token endpoint).
      if (!looks_like_secret(creds.secret)) return std::unexpected(challenge(req, repository, act, "invalid_token"));
      auto who = authn_.basic(creds.user, creds.secret, throttle_source(req.remote_address));
      if (!who && who.error().code == ErrorCode::kResourceExhausted) {
        auto r = error_reply(429, "TOO_MANY_REQUESTS", who.error().message);
        int64_t wait = authn_.retry_after_s(creds.user, throttle_source(req.remote_address));
        r.headers.set("Retry-After", std::to_string(wait > 0 ? wait : 1));
        return std::unexpected(std::move(r));
      }
      if (!who) return std::unexpected(challenge(req, repository, act, "invalid_token"));
      return decide(req, &*who, repository, act);
    }
    case Credentials::Kind::kNone: break;
  }
  if (!req.peer_certificate.empty()) {
    auto who = authn_.certificate(req.peer_certificate);
    if (!who) return std::unexpected(challenge(req, repository, act, "invalid_token"));
    return decide(req, &*who, repository, act);
  }
  if (act == kAny) return std::unexpected(challenge(req, repository, act, ""));
  return decide(req, nullptr, repository, act);
}

bool RegistryGate::also_allows(const http::Request& req, const std::string& repository, std::string_view act) {
  std::optional<Identity> who;
  if (req.principal != "anonymous") {
    auto a = authn_.account(req.principal, req.auth_method);
    if (!a) return false;
    who = std::move(*a);
  }
  auto held = tokens_.held_actions(who ? &*who : nullptr, repository);
  return held && holds(*held, act);
}

}  // namespace custody::auth
