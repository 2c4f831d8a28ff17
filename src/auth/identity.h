// Who can act in Custody, and the roles they hold: value types shared by
// the metadata store, the authorizer and the admin API.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace custody::auth {

enum class PrincipalKind { kUser, kRobot };
// Ordered: a higher role includes the lower ones.
enum class Role { kRead = 1, kWrite = 2, kAdmin = 3 };

std::string_view kind_name(PrincipalKind k);
std::optional<PrincipalKind> parse_kind(std::string_view s);
std::string_view role_name(Role r);
std::optional<Role> parse_role(std::string_view s);

struct Principal {
  std::string name;
  PrincipalKind kind = PrincipalKind::kUser;
  bool system_admin = false;
  bool disabled = false;
  std::optional<int64_t> expires_ms;  // robots
  std::string owner_namespace;        // robots: the namespace that owns them ("" = system)
  int64_t created_ms = 0;

  bool expired(int64_t now_ms) const { return expires_ms && *expires_ms <= now_ms; }
};

struct Namespace {
  enum class Kind { kOrg, kUser };
  std::string name;
  Kind kind = Kind::kOrg;
  bool is_public = false;
  bool is_protected = false;
  int64_t created_ms = 0;
};

struct Grant {
  enum class Subject { kPrincipal, kTeam };
  Subject subject_kind = Subject::kPrincipal;
  std::string subject;     // principal name, or "<namespace>/<team>"
  std::string ns;          // the namespace the grant is in
  std::string repository;  // "" for the whole namespace, else a full repository name
  Role role = Role::kRead;
};

// What applies to one principal on one repository.
struct RepositoryAccess {
  bool is_public = false;
  bool is_protected = false;
  std::optional<Role> role;  // the highest role granted, directly or via teams
};

// The namespace of a repository: its first path component.
std::string_view namespace_of(std::string_view repository);

// Names of users, robots, organizations and teams: [a-z0-9][a-z0-9._-]{0,63}
// (robots are stored as "robot$<namespace>+<name>" or "robot$<name>").
bool is_valid_account_name(std::string_view name);

}  // namespace custody::auth
