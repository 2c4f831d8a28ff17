#include "meta/sqlite_identity.h"

#include "common/time.h"
#include "meta/sqlite.h"

namespace custody::meta {
namespace {

auth::Principal principal_from(const Statement& s) {
  auth::Principal p;
  p.name = s.text(0);
  p.kind = auth::parse_kind(s.text(1)).value_or(auth::PrincipalKind::kUser);
  p.system_admin = s.int64(2) != 0;
  p.disabled = s.int64(3) != 0;
  if (!s.is_null(4)) p.expires_ms = s.int64(4);
  p.owner_namespace = s.text(5);
  p.created_ms = s.int64(6);
  return p;
}

auth::Namespace namespace_from(const Statement& s) {
  return auth::Namespace{s.text(0), s.text(1) == "user" ? auth::Namespace::Kind::kUser : auth::Namespace::Kind::kOrg,
                         s.int64(2) != 0, s.int64(3) != 0, s.int64(4)};
}

const char* subject_name(auth::Grant::Subject k) { return k == auth::Grant::Subject::kTeam ? "team" : "principal"; }

template <typename T, typename F>
Result<std::vector<T>> collect(Statement& st, F from) {
  std::vector<T> out;
  for (;;) {
    auto row = st.step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return out;
    out.push_back(from(st));
  }
}

Status changed_one(Connection& c, std::string_view what) {
  if (c.changes() == 0) return fail(ErrorCode::kNotFound, std::string(what) + " not found");
  return {};
}

}  // namespace

Result<std::optional<std::string>> SqliteIdentity::one_text(const char* sql, const std::string& key) {
  auto st = c_.prepare(sql);
  if (!st) return std::unexpected(st.error());
  (*st)->bind(1, key);
  auto row = (*st)->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<std::string>();
  return (*st)->opt_text(0);
}

Status SqliteIdentity::create_principal(const auth::Principal& p, const std::string& password_hash,
                                        const std::string& secret_hash) {
  auto st = c_.prepare(
      "INSERT INTO principals(name, kind, password_hash, secret_hash, system_admin, disabled, expires_ms, "
      "namespace, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  if (!st) return std::unexpected(st.error());
  Statement& s = **st;
  s.bind(1, p.name).bind(2, auth::kind_name(p.kind));
  password_hash.empty() ? s.bind_null(3) : s.bind(3, password_hash);
  secret_hash.empty() ? s.bind_null(4) : s.bind(4, secret_hash);
  s.bind(5, int64_t{p.system_admin}).bind(6, int64_t{p.disabled});
  p.expires_ms ? s.bind(7, *p.expires_ms) : s.bind_null(7);
  s.bind(8, p.owner_namespace).bind(9, p.created_ms ? p.created_ms : now_unix_ms());
  auto r = s.run();
  if (!r && r.error().code == ErrorCode::kAlreadyExists)
    return fail(ErrorCode::kAlreadyExists, "the name " + p.name + " is taken");
  return r;
}

Result<std::optional<auth::Principal>> SqliteIdentity::principal(const std::string& name) {
  auto st = c_.prepare(
      "SELECT name, kind, system_admin, disabled, expires_ms, coalesce(namespace, ''), created_ms "
      "FROM principals WHERE name = ?1");
  if (!st) return std::unexpected(st.error());
  (*st)->bind(1, name);
  auto row = (*st)->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<auth::Principal>();
  return std::optional(principal_from(**st));
}

Result<std::optional<std::string>> SqliteIdentity::password_hash(const std::string& name) {
  return one_text("SELECT password_hash FROM principals WHERE name = ?1", name);
}

Result<std::optional<std::string>> SqliteIdentity::secret_hash(const std::string& name) {
  return one_text("SELECT secret_hash FROM principals WHERE name = ?1", name);
}

Status SqliteIdentity::set_password_hash(const std::string& name, const std::string& hash) {
  auto st = c_.prepare("UPDATE principals SET password_hash = ?2 WHERE name = ?1 AND kind = 'user'");
  if (!st) return std::unexpected(st.error());
  (*st)->bind(1, name).bind(2, hash);
  if (auto r = (*st)->run(); !r) return r;
  return changed_one(c_, "user " + name);
}

Status SqliteIdentity::set_disabled(const std::string& name, bool disabled) {
  auto st = c_.prepare("UPDATE principals SET disabled = ?2 WHERE name = ?1");
  if (!st) return std::unexpected(st.error());
  (*st)->bind(1, name).bind(2, int64_t{disabled});
  if (auto r = (*st)->run(); !r) return r;
  return changed_one(c_, name);
}

Status SqliteIdentity::set_secret_hash(const std::string& name, const std::string& hash) {
  auto st = c_.prepare("UPDATE principals SET secret_hash = ?2 WHERE name = ?1");
  if (!st) return std::unexpected(st.error());
  (*st)->bind(1, name).bind(2, hash);
  if (auto r = (*st)->run(); !r) return r;
  return changed_one(c_, name);
}

Status SqliteIdentity::set_system_admin(const std::string& name, bool system_admin) {
  auto st = c_.prepare("UPDATE principals SET system_admin = ?2 WHERE name = ?1 AND kind = 'user'");
  if (!st) return std::unexpected(st.error());
  (*st)->bind(1, name).bind(2, int64_t{system_admin});
  if (auto r = (*st)->run(); !r) return r;
  return changed_one(c_, "user " + name);
}

Result<std::vector<auth::Principal>> SqliteIdentity::principals(const std::string& after, uint32_t limit) {
  auto st = c_.prepare(
      "SELECT name, kind, system_admin, disabled, expires_ms, coalesce(namespace, ''), created_ms "
      "FROM principals WHERE name > ?1 ORDER BY name LIMIT ?2");
  if (!st) return std::unexpected(st.error());
  (*st)->bind(1, after).bind(2, int64_t{limit});
  return collect<auth::Principal>(**st, principal_from);
}

Result<int64_t> SqliteIdentity::principal_count() {
  auto st = c_.prepare("SELECT count(*) FROM principals");
  if (!st) return std::unexpected(st.error());
  if (auto r = (*st)->step(); !r) return std::unexpected(r.error());
  return (*st)->int64(0);
}

Status SqliteIdentity::create_namespace(const auth::Namespace& ns) {
  auto st = c_.prepare(
      "INSERT INTO namespaces(name, kind, public, protected, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)");
  if (!st) return std::unexpected(st.error());
  (*st)->bind(1, ns.name).bind(2, ns.kind == auth::Namespace::Kind::kUser ? "user" : "org");
  (*st)->bind(3, int64_t{ns.is_public}).bind(4, int64_t{ns.is_protected});
  (*st)->bind(5, ns.created_ms ? ns.created_ms : now_unix_ms());
  auto r = (*st)->run();
  if (!r && r.error().code == ErrorCode::kAlreadyExists)
    return fail(ErrorCode::kAlreadyExists, "namespace " + ns.name + " exists");
  return r;
}

Result<std::optional<auth::Namespace>> SqliteIdentity::find_namespace(const std::string& name) {
  auto st = c_.prepare("SELECT name, kind, public, protected, created_ms FROM namespaces WHERE name = ?1");
  if (!st) return std::unexpected(st.error());
  (*st)->bind(1, name);
  auto row = (*st)->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<auth::Namespace>();
  return std::optional(namespace_from(**st));
}

Result<std::vector<auth::Namespace>> SqliteIdentity::namespaces(const std::string& after, uint32_t limit) {
  auto st = c_.prepare(
      "SELECT name, kind, public, protected, created_ms FROM namespaces WHERE name > ?1 ORDER BY name LIMIT ?2");
  if (!st) return std::unexpected(st.error());
  (*st)->bind(1, after).bind(2, int64_t{limit});
  return collect<auth::Namespace>(**st, namespace_from);
}

Status SqliteIdentity::set_namespace_flags(const std::string& name, bool is_public, bool is_protected) {
  auto st = c_.prepare("UPDATE namespaces SET public = ?2, protected = ?3 WHERE name = ?1");
  if (!st) return std::unexpected(st.error());
  (*st)->bind(1, name).bind(2, int64_t{is_public}).bind(3, int64_t{is_protected});
  if (auto r = (*st)->run(); !r) return r;
  return changed_one(c_, "namespace " + name);
}

Status SqliteIdentity::create_team(const std::string& ns, const std::string& team) {
  auto st = c_.prepare("INSERT INTO teams(namespace, name) VALUES (?1, ?2)");
  if (!st) return std::unexpected(st.error());
  (*st)->bind(1, ns).bind(2, team);
  auto r = (*st)->run();
  if (!r && r.error().code == ErrorCode::kAlreadyExists)
    return fail(ErrorCode::kAlreadyExists, "team " + ns + "/" + team + " exists");
  return r;
}

Result<bool> SqliteIdentity::team_exists(const std::string& ns, const std::string& team) {
  auto st = c_.prepare("SELECT 1 FROM teams WHERE namespace = ?1 AND name = ?2");
  if (!st) return std::unexpected(st.error());
  (*st)->bind(1, ns).bind(2, team);
  return (*st)->step();
}

Status SqliteIdentity::add_team_member(const std::string& ns, const std::string& team, const std::string& principal) {
  auto st = c_.prepare("INSERT OR IGNORE INTO team_members(namespace, team, principal) VALUES (?1, ?2, ?3)");
  if (!st) return std::unexpected(st.error());
  (*st)->bind(1, ns).bind(2, team).bind(3, principal);
  return (*st)->run();
}

Result<bool> SqliteIdentity::remove_team_member(const std::string& ns, const std::string& team,
                                                const std::string& principal) {
  auto st = c_.prepare("DELETE FROM team_members WHERE namespace = ?1 AND team = ?2 AND principal = ?3");
  if (!st) return std::unexpected(st.error());
  (*st)->bind(1, ns).bind(2, team).bind(3, principal);
  if (auto r = (*st)->run(); !r) return std::unexpected(r.error());
  return c_.changes() > 0;
}

Result<std::vector<std::string>> SqliteIdentity::team_members(const std::string& ns, const std::string& team) {
  auto st = c_.prepare("SELECT principal FROM team_members WHERE namespace = ?1 AND team = ?2 ORDER BY principal");
  if (!st) return std::unexpected(st.error());
  (*st)->bind(1, ns).bind(2, team);
  return collect<std::string>(**st, [](const Statement& s) { return s.text(0); });
}

Status SqliteIdentity::put_grant(const auth::Grant& g) {
  auto st = c_.prepare(
      "INSERT INTO grants(subject_kind, subject, namespace, repository, role) VALUES (?1, ?2, ?3, ?4, ?5) "
      "ON CONFLICT(subject_kind, subject, namespace, repository) DO UPDATE SET role = excluded.role");
  if (!st) return std::unexpected(st.error());
  (*st)->bind(1, subject_name(g.subject_kind)).bind(2, g.subject).bind(3, g.ns).bind(4, g.repository);
  (*st)->bind(5, auth::role_name(g.role));
  return (*st)->run();
}

Result<bool> SqliteIdentity::delete_grant(const auth::Grant& g) {
  auto st = c_.prepare(
      "DELETE FROM grants WHERE subject_kind = ?1 AND subject = ?2 AND namespace = ?3 AND repository = ?4");
  if (!st) return std::unexpected(st.error());
  (*st)->bind(1, subject_name(g.subject_kind)).bind(2, g.subject).bind(3, g.ns).bind(4, g.repository);
  if (auto r = (*st)->run(); !r) return std::unexpected(r.error());
  return c_.changes() > 0;
}

Result<std::vector<auth::Grant>> SqliteIdentity::grants(const std::string& ns) {
  auto st = c_.prepare(
      "SELECT subject_kind, subject, namespace, repository, role FROM grants WHERE namespace = ?1 "
      "ORDER BY repository, subject_kind, subject");
  if (!st) return std::unexpected(st.error());
  (*st)->bind(1, ns);
  return collect<auth::Grant>(**st, [](const Statement& s) {
    return auth::Grant{s.text(0) == "team" ? auth::Grant::Subject::kTeam : auth::Grant::Subject::kPrincipal,
                       s.text(1), s.text(2), s.text(3), auth::parse_role(s.text(4)).value_or(auth::Role::kRead)};
  });
}

Result<auth::RepositoryAccess> SqliteIdentity::access(const std::string& principal, const std::string& repository) {
  // Repository settings override their namespace's; the role is the
  // highest granted to the principal or any of its teams, on the
  // namespace or on this repository.
  auto st = c_.prepare(
      "SELECT "
      " coalesce((SELECT public FROM repository_settings WHERE repository = ?2),"
      "          (SELECT public FROM namespaces WHERE name = ?3), 0),"
      " coalesce((SELECT protected FROM repository_settings WHERE repository = ?2),"
      "          (SELECT protected FROM namespaces WHERE name = ?3), 0),"
      " (SELECT max(CASE role WHEN 'read' THEN 1 WHEN 'write' THEN 2 WHEN 'admin' THEN 3 END) FROM grants"
      "   WHERE namespace = ?3 AND (repository = '' OR repository = ?2) AND ?1 != '' AND"
      "   ((subject_kind = 'principal' AND subject = ?1) OR (subject_kind = 'team' AND subject IN"
      "     (SELECT namespace || '/' || team FROM team_members WHERE principal = ?1))))");
  if (!st) return std::unexpected(st.error());
  (*st)->bind(1, principal).bind(2, repository).bind(3, auth::namespace_of(repository));
  if (auto r = (*st)->step(); !r) return std::unexpected(r.error());
  auth::RepositoryAccess a;
  a.is_public = (*st)->int64(0) != 0;
  a.is_protected = (*st)->int64(1) != 0;
  if (!(*st)->is_null(2)) a.role = static_cast<auth::Role>((*st)->int64(2));
  return a;
}

Status SqliteIdentity::set_repository_flags(const std::string& repository, std::optional<bool> is_public,
                                            std::optional<bool> is_protected) {
  auto st = c_.prepare(
      "INSERT INTO repository_settings(repository, public, protected) VALUES (?1, ?2, ?3) "
      "ON CONFLICT(repository) DO UPDATE SET public = coalesce(excluded.public, public),"
      " protected = coalesce(excluded.protected, protected)");
  if (!st) return std::unexpected(st.error());
  (*st)->bind(1, repository);
  is_public ? (*st)->bind(2, int64_t{*is_public}) : (*st)->bind_null(2);
  is_protected ? (*st)->bind(3, int64_t{*is_protected}) : (*st)->bind_null(3);
  return (*st)->run();
}

Status SqliteIdentity::revoke_certificate(const std::string& serial, const std::string& reason) {
  auto st = c_.prepare("INSERT OR IGNORE INTO revoked_certificates(serial, revoked_ms, reason) VALUES (?1, ?2, ?3)");
  if (!st) return std::unexpected(st.error());
  (*st)->bind(1, serial).bind(2, now_unix_ms()).bind(3, reason);
  return (*st)->run();
}

Result<bool> SqliteIdentity::certificate_revoked(const std::string& serial) {
  auto st = c_.prepare("SELECT 1 FROM revoked_certificates WHERE serial = ?1");
  if (!st) return std::unexpected(st.error());
  (*st)->bind(1, serial);
  return (*st)->step();
}

Result<std::vector<std::string>> SqliteIdentity::revoked_certificates() {
  auto st = c_.prepare("SELECT serial FROM revoked_certificates ORDER BY serial");
  if (!st) return std::unexpected(st.error());
  return collect<std::string>(**st, [](const Statement& s) { return s.text(0); });
}

}  // namespace custody::meta
