// The admin API inside one namespace: teams, grants and robots.
#include <fmt/format.h>

#include <algorithm>

#include "auth/admin_api.h"
#include "auth/admin_util.h"
#include "auth/password.h"
#include "common/time.h"
#include "registry/names.h"

namespace custody::auth {
namespace {

using namespace admin;

json grant_json(const Grant& g) {
  return {{"subject", g.subject},
          {"team", g.subject_kind == Grant::Subject::kTeam},
          {"repository", g.repository},
          {"role", role_name(g.role)}};
}

// A repository named in a grant must lie inside the grant's namespace.
bool inside(const std::string& ns, const std::string& repository) {
  return repository.empty() ||
         (repository.starts_with(ns + "/") && registry::is_valid_repository_name(repository));
}

std::string robot_name(const std::string& ns, const std::string& name) { return "robot$" + ns + "+" + name; }

Result<Grant> grant_from(const json& body, const std::string& ns) {
  auto subject = string_field(body, "subject");
  auto role = string_field(body, "role");
  auto team = bool_field(body, "team");
  auto repo = string_field(body, "repository");
  if (!subject || !role || !team || !repo)
    return std::unexpected(!subject ? subject.error() : !role ? role.error() : !team ? team.error() : repo.error());
  if (!*subject || !*role) return fail(ErrorCode::kInvalidArgument, "\"subject\" and \"role\" are required");
  auto r = parse_role(**role);
  if (!r) return fail(ErrorCode::kInvalidArgument, "role must be read, write or admin");
  std::string repository = repo->value_or("");
  if (!inside(ns, repository))
    return fail(ErrorCode::kInvalidArgument, fmt::format("repository must be a repository name inside {}/", ns));
  Grant g;
  g.subject_kind = team->value_or(false) ? Grant::Subject::kTeam : Grant::Subject::kPrincipal;
  g.subject = g.subject_kind == Grant::Subject::kTeam ? ns + "/" + **subject : **subject;
  g.ns = ns;
  g.repository = repository;
  g.role = *r;
  return g;
}

// The grant's subject must exist: the team in this namespace, or the account.
Status check_subject(meta::Txn& t, const Grant& g) {
  if (g.subject_kind == Grant::Subject::kTeam) {
    auto exists = t.identity().team_exists(g.ns, g.subject.substr(g.ns.size() + 1));
    if (!exists) return std::unexpected(exists.error());
    if (!*exists) return fail(ErrorCode::kNotFound, "no such team");
    return {};
  }
  auto p = t.identity().principal(g.subject);
  if (!p) return std::unexpected(p.error());
  if (!*p) return fail(ErrorCode::kNotFound, "no such account");
  return {};
}

Status require_namespace(meta::Txn& t, const std::string& ns) {
  auto n = t.identity().find_namespace(ns);
  if (!n) return std::unexpected(n.error());
  if (!*n) return fail(ErrorCode::kNotFound, "no such namespace");
  return {};
}

// A listing answered one page at a time (n, last, Link), items keyed by
// the name `last` refers to.
http::Response paged(const http::Request& req, const char* field, std::vector<std::pair<std::string, json>> items,
                     uint32_t max) {
  auto page = page_args(req, max);
  if (!page) return error_reply(page.error());
  std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> keys;
  for (const auto& i : items) keys.push_back(i.first);
  Slice s = slice_page(keys, *page);
  json arr = json::array();
  for (size_t i = s.begin; i < s.end; ++i) arr.push_back(std::move(items[i].second));
  auto res = reply(200, json{{field, arr}});
  add_next_link(res, req.path, *page, s.more, s.end > s.begin ? keys[s.end - 1] : "");
  return res;
}

std::string grant_key(const Grant& g) {
  return fmt::format("{}|{}|{}", g.subject, g.repository, role_name(g.role));
}

}  // namespace

Result<bool> AdminApi::administers(const Identity& who, const std::string& ns) {
  if (who.principal.system_admin) return true;
  bool admin = false;
  auto r = meta_.read([&](meta::Txn& t) -> Status {
    auto grants = t.identity().grants(ns);
    if (!grants) return std::unexpected(grants.error());
    for (const Grant& g : *grants) {
      if (!g.repository.empty() || g.role != Role::kAdmin) continue;
      if (g.subject_kind == Grant::Subject::kPrincipal) {
        admin = admin || g.subject == who.principal.name;
        continue;
      }
      auto members = t.identity().team_members(ns, g.subject.substr(ns.size() + 1));
      if (!members) return std::unexpected(members.error());
      for (const auto& m : *members) admin = admin || m == who.principal.name;
    }
    return {};
  });
  if (!r) return std::unexpected(r.error());
  return admin;
}

http::Response AdminApi::org_resource(Call& call) {
  const std::string ns = call.path[1];
  auto admin = administers(call.who, ns);
  if (!admin) return error_reply(admin.error());
  if (!*admin) return forbidden(fmt::format("you do not administer {}", ns));
  const std::string& kind = call.path[2];
  if (kind == "teams") return teams(call, ns);
  if (kind == "grants" && call.path.size() == 3) return grants(call, ns);
  if (kind == "robots") return robots(call, ns);
  return not_found();
}

http::Response AdminApi::teams(Call& call, const std::string& ns) {
  const auto& p = call.path;  // orgs/<ns>/teams[/<team>/members[/<account>]]
  if (p.size() == 3) {
    if (call.req.method != "POST") return method_not_allowed();
    auto body = read_object(call.req, {"name"});
    if (!body) return error_reply(body.error());
    auto name = string_field(*body, "name");
    if (!name) return error_reply(name.error());
    if (!*name || !is_valid_account_name(**name)) return api_error(400, "INVALID", "team name must match [a-z0-9][a-z0-9._-]{0,63}");
    meta::Event e;
    e.action = "team.create";
    e.repository = ns;
    e.detail_json = json{{"team", **name}}.dump();
    return change(call, e, [&](meta::Txn& t) -> Status {
      if (auto s = require_namespace(t, ns); !s) return s;
      return t.identity().create_team(ns, **name);
    }, 201, json{{"name", **name}});
  }
  if (p.size() < 5 || p[4] != "members" || p.size() > 6) return not_found();
  const std::string& team = p[3];
  if (p.size() == 5) {
    if (call.req.method != "GET") return method_not_allowed();
    std::vector<std::string> members;
    auto r = meta_.read([&](meta::Txn& t) -> Status {
      auto exists = t.identity().team_exists(ns, team);
      if (!exists) return std::unexpected(exists.error());
      if (!*exists) return fail(ErrorCode::kNotFound, "no such team");
      auto m = t.identity().team_members(ns, team);
      if (!m) return std::unexpected(m.error());
      members = std::move(*m);
      return {};
    });
    if (!r) return error_reply(r.error());
    std::vector<std::pair<std::string, json>> items;
    for (auto& m : members) items.emplace_back(m, m);
    return paged(call.req, "members", std::move(items), options_.page_size_max);
  }
  const std::string& account = p[5];
  bool add = call.req.method == "PUT";
  if (!add && call.req.method != "DELETE") return method_not_allowed();
  meta::Event e;
  e.action = add ? "team.member.add" : "team.member.remove";
  e.repository = ns;
  e.detail_json = json{{"team", team}, {"member", account}}.dump();
  return change(call, e, [&](meta::Txn& t) -> Status {
    auto exists = t.identity().team_exists(ns, team);
    if (!exists) return std::unexpected(exists.error());
    if (!*exists) return fail(ErrorCode::kNotFound, "no such team");
    auto who = t.identity().principal(account);
    if (!who) return std::unexpected(who.error());
    if (!*who) return fail(ErrorCode::kNotFound, "no such account");
    if (add) return t.identity().add_team_member(ns, team, account);
    auto removed = t.identity().remove_team_member(ns, team, account);
    if (!removed) return std::unexpected(removed.error());
    if (!*removed) return fail(ErrorCode::kNotFound, "not a member");
    return {};
  }, 204, {});
}

http::Response AdminApi::grants(Call& call, const std::string& ns) {
  if (call.req.method == "GET") {
    std::vector<Grant> list;
    auto r = meta_.read([&](meta::Txn& t) -> Status {
      auto v = t.identity().grants(ns);
      if (!v) return std::unexpected(v.error());
      list = std::move(*v);
      return {};
    });
    if (!r) return error_reply(r.error());
    std::vector<std::pair<std::string, json>> items;
    for (const auto& g : list) items.emplace_back(grant_key(g), grant_json(g));
    return paged(call.req, "grants", std::move(items), options_.page_size_max);
  }
  bool add = call.req.method == "POST";
  if (!add && call.req.method != "DELETE") return method_not_allowed();
  auto body = read_object(call.req, {"subject", "role", "team", "repository"});
  if (!body) return error_reply(body.error());
  auto g = grant_from(*body, ns);
  if (!g) return error_reply(g.error());
  meta::Event e;
  e.action = add ? "grant.add" : "grant.remove";
  e.repository = g->repository.empty() ? ns : g->repository;
  e.detail_json = grant_json(*g).dump();
  return change(call, e, [&](meta::Txn& t) -> Status {
    if (auto s = require_namespace(t, ns); !s) return s;
    if (add) {
      if (auto s = check_subject(t, *g); !s) return s;
      return t.identity().put_grant(*g);
    }
    auto removed = t.identity().delete_grant(*g);
    if (!removed) return std::unexpected(removed.error());
    if (!*removed) return fail(ErrorCode::kNotFound, "no such grant");
    return {};
  }, add ? 201 : 204, grant_json(*g));
}

http::Response AdminApi::create_robot(Call& call, const std::string& ns) {
  auto body = read_object(call.req, {"name", "expires_at", "access"});
  if (!body) return error_reply(body.error());
  auto name = string_field(*body, "name");
  if (!name) return error_reply(name.error());
  if (!*name || !is_valid_account_name(**name)) return api_error(400, "INVALID", "robot name must match [a-z0-9][a-z0-9._-]{0,63}");
  std::optional<int64_t> expires_ms;
  if (auto it = body->find("expires_at"); it != body->end()) {
    if (!it->is_number_integer() || it->get<int64_t>() <= 0 || it->get<int64_t>() > 253402300799)
      return api_error(400, "INVALID", "expires_at must be a Unix time in seconds");
    expires_ms = it->get<int64_t>() * 1000;
  }
  Principal p{robot_name(ns, **name), PrincipalKind::kRobot, false, false, expires_ms, ns, now_unix_ms()};
  std::vector<Grant> grants;
  if (auto it = body->find("access"); it != body->end()) {
    if (!it->is_array() || it->size() > 100) return api_error(400, "INVALID", "access must be an array (100 at most)");
    for (const auto& a : *it) {
      if (!a.is_object() || a.contains("subject") || a.contains("team"))
        return api_error(400, "INVALID", "access entries are {\"repository\"?, \"role\"}");
      json entry = a;
      entry["subject"] = p.name;
      auto g = grant_from(entry, ns);
      if (!g) return error_reply(g.error());
      grants.push_back(*g);
    }
  }
  auto secret = generate_secret();
  if (!secret) return error_reply(secret.error());
  json reply_body = {{"name", p.name}, {"secret", *secret}, {"namespace", ns}};
  if (expires_ms) reply_body["expires_at"] = *expires_ms / 1000;
  meta::Event e;
  e.action = "robot.create";
  e.repository = ns;
  json detail = {{"name", p.name}, {"access", json::array()}};
  for (const auto& g : grants) detail["access"].push_back(grant_json(g));
  if (expires_ms) detail["expires_at"] = *expires_ms / 1000;
  e.detail_json = detail.dump();
  return change(call, e, [&](meta::Txn& t) -> Status {
    if (auto s = require_namespace(t, ns); !s) return s;
    if (auto s = t.identity().create_principal(p, "", hash_secret(*secret)); !s) return s;
    for (const auto& g : grants)
      if (auto s = t.identity().put_grant(g); !s) return s;
    return {};
  }, 201, reply_body);
}

http::Response AdminApi::robots(Call& call, const std::string& ns) {
  const auto& p = call.path;  // orgs/<ns>/robots[/<name>]
  if (p.size() == 4) {
    if (call.req.method != "DELETE") return method_not_allowed();
    std::string name = robot_name(ns, p[3]);
    meta::Event e;
    e.action = "robot.revoke";
    e.repository = ns;
    e.detail_json = json{{"name", name}}.dump();
    return change(call, e, [&](meta::Txn& t) -> Status {
      auto r = t.identity().principal(name);
      if (!r) return std::unexpected(r.error());
      if (!*r || (*r)->kind != PrincipalKind::kRobot) return fail(ErrorCode::kNotFound, "no such robot");
      return t.identity().set_disabled(name, true);
    }, 204, {});
  }
  if (p.size() != 3) return not_found();
  if (call.req.method == "POST") return create_robot(call, ns);
  if (call.req.method != "GET") return method_not_allowed();
  std::vector<std::pair<std::string, json>> items;
  std::string prefix = robot_name(ns, "");
  auto r = meta_.read([&](meta::Txn& t) -> Status {
    std::string after = prefix;  // robot names sort right after their prefix
    for (bool more = true; more;) {
      auto list = t.identity().principals(after, 1000);
      if (!list) return std::unexpected(list.error());
      more = list->size() == 1000;
      for (const auto& robot : *list) {
        if (!robot.name.starts_with(prefix)) return {};
        items.emplace_back(robot.name, json{{"name", robot.name}, {"disabled", robot.disabled},
                                            {"expires_at", robot.expires_ms ? json(*robot.expires_ms / 1000) : json(nullptr)}});
        after = robot.name;
      }
    }
    return {};
  });
  if (!r) return error_reply(r.error());
  return paged(call.req, "robots", std::move(items), options_.page_size_max);
}

}  // namespace custody::auth
