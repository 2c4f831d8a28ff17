#include "auth/admin_api.h"

#include <fmt/format.h>

#include "auth/admin_util.h"
#include "auth/credentials.h"
#include "common/time.h"
#include "registry/names.h"

namespace custody::auth {
namespace {

using namespace admin;

std::vector<std::string> split_path(std::string_view rest) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= rest.size()) {
    size_t slash = rest.find('/', start);
    if (slash == std::string_view::npos) slash = rest.size();
    if (slash > start) out.emplace_back(rest.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

json principal_json(const Principal& p) {
  json j = {{"name", p.name},
            {"kind", kind_name(p.kind)},
            {"system_admin", p.system_admin},
            {"disabled", p.disabled},
            {"created", format_rfc3339(p.created_ms)}};
  if (p.expires_ms) j["expires_at"] = *p.expires_ms / 1000;
  if (!p.owner_namespace.empty()) j["namespace"] = p.owner_namespace;
  return j;
}

json namespace_json(const Namespace& n) {
  return {{"name", n.name},
          {"kind", n.kind == Namespace::Kind::kOrg ? "org" : "user"},
          {"public", n.is_public},
          {"protected", n.is_protected}};
}

// One page of a listing that the store pages itself: fetch(txn, after, limit).
template <typename T, typename Fetch, typename ToJson>
http::Response store_page(meta::MetaStore& meta, const http::Request& req, uint32_t max, const char* field,
                          Fetch fetch, ToJson to_json) {
  auto page = page_args(req, max);
  if (!page) return error_reply(page.error());
  std::vector<T> list;
  auto r = meta.read([&](meta::Txn& t) -> Status {
    auto v = fetch(t, page->last, page->n + 1);
    if (!v) return std::unexpected(v.error());
    list = std::move(*v);
    return {};
  });
  if (!r) return error_reply(r.error());
  bool more = list.size() > page->n;
  if (more) list.resize(page->n);
  json arr = json::array();
  for (const auto& item : list) arr.push_back(to_json(item));
  auto res = reply(200, json{{field, arr}});
  add_next_link(res, req.path, *page, more, list.empty() ? "" : list.back().name);
  return res;
}

// A body of {"public"?, "protected"?}, for namespaces and repositories.
struct Flags {
  std::optional<bool> is_public, is_protected;
  std::string detail;  // the body as given, for the event
};

Result<Flags> read_flags(http::Request& req) {
  auto body = read_object(req, {"public", "protected"});
  if (!body) return std::unexpected(body.error());
  auto pub = bool_field(*body, "public");
  if (!pub) return std::unexpected(pub.error());
  auto prot = bool_field(*body, "protected");
  if (!prot) return std::unexpected(prot.error());
  return Flags{*pub, *prot, body->dump()};
}

bool is_hex_serial(std::string_view s) {
  return !s.empty() && s.size() <= 40 && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

Result<Identity> AdminApi::caller(http::Request& req) {
  Credentials creds = parse_authorization(req.headers.get("Authorization"));
  Result<Identity> who = fail(ErrorCode::kUnauthenticated, "authentication required");
  if (creds.kind == Credentials::Kind::kBasic) {
    who = authn_.basic(creds.user, creds.secret, throttle_source(req.remote_address));
  } else if (creds.kind == Credentials::Kind::kBearer) {
    auto claims = tokens_.verify_access(creds.secret);
    if (!claims) return std::unexpected(claims.error());
    if (claims->sub.empty()) return fail(ErrorCode::kUnauthenticated, "an anonymous token cannot use the admin API");
    who = authn_.account(claims->sub, "token");
  } else if (creds.kind == Credentials::Kind::kNone && !req.peer_certificate.empty()) {
    who = authn_.certificate(req.peer_certificate);
  }
  if (!who) return who;
  req.principal = who->principal.name;
  req.auth_method = who->method;
  return who;
}

http::Response AdminApi::handle(http::Request& req) {
  auto who = caller(req);
  if (!who) {
    auto r = error_reply(who.error());
    if (r.status == 401) r.headers.set("WWW-Authenticate", "Basic realm=\"custody\"");
    if (r.status == 429) {
      Credentials creds = parse_authorization(req.headers.get("Authorization"));
      int64_t wait = authn_.retry_after_s(creds.user, throttle_source(req.remote_address));
      r.headers.set("Retry-After", std::to_string(wait > 0 ? wait : 1));
    }
    return r;
  }
  Call call{req, *who, split_path(std::string_view(req.path).substr(std::string_view("/api/v1/").size()))};
  bool whoami = call.path.size() == 1 && call.path[0] == "whoami";
  if (who->principal.kind == PrincipalKind::kRobot && !whoami)
    return forbidden("robot accounts cannot use the admin API");
  return route(call);
}

http::Response AdminApi::route(Call& call) {
  if (call.path.empty()) return not_found();
  const std::string& top = call.path[0];
  if (top == "whoami" && call.path.size() == 1) {
    if (call.req.method != "GET") return method_not_allowed();
    json j = principal_json(call.who.principal);
    j["auth"] = call.who.method;
    return reply(200, j);
  }
  if (top == "users") return users(call);
  if (top == "orgs") return call.path.size() <= 2 ? orgs(call) : org_resource(call);
  if (top == "repositories") return repositories(call);
  if (top == "pki" && call.path.size() == 2 && call.path[1] == "revocations") return revocations(call);
  return not_found();
}

http::Response AdminApi::change(Call& call, meta::Event e, const std::function<Status(meta::Txn&)>& fn, int status,
                                const json& body) {
  e.actor = call.who.principal.name;
  e.auth = call.who.method;
  e.source = call.req.remote_address;
  auto r = meta_.transact([&](meta::Txn& t) -> Status {
    if (auto s = fn(t); !s) return s;
    auto seq = t.append_event(e);
    if (!seq) return std::unexpected(seq.error());
    return {};
  });
  if (!r) return error_reply(r.error());
  return status == 204 ? no_content() : reply(status, body);
}

http::Response AdminApi::users(Call& call) {
  if (call.path.size() == 2) {
    if (call.req.method != "PATCH") return method_not_allowed();
    return update_user(call, call.path[1]);
  }
  if (call.path.size() != 1) return not_found();
  if (call.req.method == "POST") return create_user(call);
  if (call.req.method != "GET") return method_not_allowed();
  if (!call.who.principal.system_admin) return forbidden("only system administrators list accounts");
  return store_page<Principal>(
      meta_, call.req, options_.page_size_max, "users",
      [](meta::Txn& t, const std::string& after, uint32_t n) { return t.identity().principals(after, n); },
      principal_json);
}

http::Response AdminApi::create_user(Call& call) {
  if (!call.who.principal.system_admin) return forbidden("only system administrators create accounts");
  auto body = read_object(call.req, {"name", "password", "system_admin"});
  if (!body) return error_reply(body.error());
  auto name = string_field(*body, "name");
  auto password = string_field(*body, "password");
  auto admin_flag = bool_field(*body, "system_admin");
  if (!name || !password || !admin_flag) return error_reply(!name ? name.error() : !password ? password.error() : admin_flag.error());
  if (!*name || !is_valid_account_name(**name) || **name == "anonymous")
    return api_error(400, "INVALID", "name must match [a-z0-9][a-z0-9._-]{0,63} and not be \"anonymous\"");
  std::string hash;
  if (*password) {
    if (!options_.passwords) return api_error(400, "INVALID", "passwords are off on this registry");
    auto h = hash_password(**password);
    if (!h) return error_reply(h.error());
    hash = *h;
  }
  Principal p{**name, PrincipalKind::kUser, admin_flag->value_or(false), false, std::nullopt, "", now_unix_ms()};
  meta::Event e;
  e.action = "user.create";
  e.detail_json = json{{"name", p.name}, {"system_admin", p.system_admin}, {"password", !hash.empty()}}.dump();
  return change(call, e, [&](meta::Txn& t) -> Status {
    if (auto s = t.identity().create_principal(p, hash, ""); !s) return s;
    if (auto s = t.identity().create_namespace({p.name, Namespace::Kind::kUser, false, false, p.created_ms}); !s)
      return fail(ErrorCode::kAlreadyExists, "a namespace named " + p.name + " exists already");
    return t.identity().put_grant({Grant::Subject::kPrincipal, p.name, p.name, "", Role::kAdmin});
  }, 201, principal_json(p));
}

http::Response AdminApi::update_user(Call& call, const std::string& name) {
  bool self = name == call.who.principal.name;
  if (!self && !call.who.principal.system_admin) return forbidden();
  auto body = read_object(call.req, {"password", "disabled"});
  if (!body) return error_reply(body.error());
  auto password = string_field(*body, "password");
  auto disabled = bool_field(*body, "disabled");
  if (!password || !disabled) return error_reply(!password ? password.error() : disabled.error());
  if (*disabled && !call.who.principal.system_admin) return forbidden("only system administrators disable accounts");
  if (*disabled && self && **disabled) return api_error(400, "INVALID", "you cannot disable yourself");
  std::string hash;
  if (*password) {
    if (!options_.passwords) return api_error(400, "INVALID", "passwords are off on this registry");
    auto h = hash_password(**password);
    if (!h) return error_reply(h.error());
    hash = *h;
  }
  meta::Event e;
  e.action = "user.update";
  json detail = {{"name", name}, {"password_changed", !hash.empty()}};
  if (*disabled) detail["disabled"] = **disabled;
  e.detail_json = detail.dump();
  return change(call, e, [&](meta::Txn& t) -> Status {
    auto p = t.identity().principal(name);
    if (!p) return std::unexpected(p.error());
    if (!*p || (*p)->kind != PrincipalKind::kUser) return fail(ErrorCode::kNotFound, "no such user");
    if (!hash.empty())
      if (auto s = t.identity().set_password_hash(name, hash); !s) return s;
    if (*disabled) return t.identity().set_disabled(name, **disabled);
    return {};
  }, 204, {});
}

http::Response AdminApi::orgs(Call& call) {
  if (call.path.size() == 2) {
    const std::string& ns = call.path[1];
    if (call.req.method != "PATCH") return method_not_allowed();
    auto admin = administers(call.who, ns);
    if (!admin) return error_reply(admin.error());
    if (!*admin) return forbidden();
    auto flags = read_flags(call.req);
    if (!flags) return error_reply(flags.error());
    meta::Event e;
    e.action = "org.update";
    e.repository = ns;
    e.detail_json = flags->detail;
    return change(call, e, [&](meta::Txn& t) -> Status {
      auto n = t.identity().find_namespace(ns);
      if (!n) return std::unexpected(n.error());
      if (!*n) return fail(ErrorCode::kNotFound, "no such namespace");
      return t.identity().set_namespace_flags(ns, flags->is_public.value_or((*n)->is_public),
                                              flags->is_protected.value_or((*n)->is_protected));
    }, 204, {});
  }
  if (call.req.method == "GET") {
    return store_page<Namespace>(
        meta_, call.req, options_.page_size_max, "orgs",
        [](meta::Txn& t, const std::string& after, uint32_t n) { return t.identity().namespaces(after, n); },
        namespace_json);
  }
  if (call.req.method != "POST") return method_not_allowed();
  if (!call.who.principal.system_admin) return forbidden("only system administrators create organizations");
  auto body = read_object(call.req, {"name", "public", "protected"});
  if (!body) return error_reply(body.error());
  auto name = string_field(*body, "name");
  auto pub = bool_field(*body, "public");
  auto prot = bool_field(*body, "protected");
  if (!name || !pub || !prot) return error_reply(!name ? name.error() : !pub ? pub.error() : prot.error());
  if (!*name || !is_valid_account_name(**name)) return api_error(400, "INVALID", "name must match [a-z0-9][a-z0-9._-]{0,63}");
  Namespace n{**name, Namespace::Kind::kOrg, pub->value_or(false), prot->value_or(false), now_unix_ms()};
  meta::Event e;
  e.action = "org.create";
  e.repository = n.name;
  e.detail_json = namespace_json(n).dump();
  return change(call, e, [&](meta::Txn& t) { return t.identity().create_namespace(n); }, 201, namespace_json(n));
}

http::Response AdminApi::repositories(Call& call) {
  std::string name;
  for (size_t i = 1; i < call.path.size(); ++i) name += (i > 1 ? "/" : "") + call.path[i];
  if (name.empty()) return not_found();
  if (call.req.method != "PATCH" && call.req.method != "GET") return method_not_allowed();
  if (!registry::is_valid_repository_name(name) || name.find('/') == std::string::npos)
    return api_error(400, "INVALID", "not a repository name inside a namespace");
  RepositoryAccess access;
  bool ns_exists = false;
  auto r = meta_.read([&](meta::Txn& t) -> Status {
    auto a = t.identity().access(call.who.principal.name, name);
    if (!a) return std::unexpected(a.error());
    access = *a;
    auto n = t.identity().find_namespace(std::string(namespace_of(name)));
    if (!n) return std::unexpected(n.error());
    ns_exists = n->has_value();
    return {};
  });
  if (!r) return error_reply(r.error());
  Role role = call.who.principal.system_admin ? Role::kAdmin : access.role.value_or(Role::kRead);
  bool sees = call.who.principal.system_admin || access.role || access.is_public;
  if (!ns_exists) return sees ? not_found("no such namespace: " + std::string(namespace_of(name))) : forbidden();
  if (call.req.method == "GET") {
    if (!sees) return forbidden();
    return reply(200, json{{"name", name}, {"public", access.is_public}, {"protected", access.is_protected}});
  }
  if (!sees || role != Role::kAdmin) return forbidden();
  auto flags = read_flags(call.req);
  if (!flags) return error_reply(flags.error());
  meta::Event e;
  e.action = "repository.update";
  e.repository = name;
  e.detail_json = flags->detail;
  return change(call, e, [&](meta::Txn& t) {
    return t.identity().set_repository_flags(name, flags->is_public, flags->is_protected);
  }, 204, {});
}

http::Response AdminApi::revocations(Call& call) {
  if (!call.who.principal.system_admin) return forbidden("only system administrators revoke certificates");
  if (call.req.method == "GET") {
    std::vector<std::string> serials;
    auto r = meta_.read([&](meta::Txn& t) -> Status {
      auto v = t.identity().revoked_certificates();
      if (!v) return std::unexpected(v.error());
      serials = std::move(*v);
      return {};
    });
    if (!r) return error_reply(r.error());
    return reply(200, json{{"revoked", serials}});
  }
  if (call.req.method != "POST") return method_not_allowed();
  auto body = read_object(call.req, {"serial", "reason"});
  if (!body) return error_reply(body.error());
  auto serial = string_field(*body, "serial");
  auto reason = string_field(*body, "reason");
  if (!serial || !reason) return error_reply(!serial ? serial.error() : reason.error());
  if (*serial)
    for (char& c : **serial) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!*serial || !is_hex_serial(**serial))
    return api_error(400, "INVALID", "serial must be hex, as `openssl x509 -serial` prints it");
  meta::Event e;
  e.action = "certificate.revoke";
  e.detail_json = json{{"serial", **serial}, {"reason", reason->value_or("")}}.dump();
  return change(call, e, [&](meta::Txn& t) { return t.identity().revoke_certificate(**serial, reason->value_or("")); },
                201, json{{"serial", **serial}});
}

}  // namespace custody::auth
