#include "auth/identity.h"

namespace custody::auth {

std::string_view kind_name(PrincipalKind k) { return k == PrincipalKind::kUser ? "user" : "robot"; }

std::optional<PrincipalKind> parse_kind(std::string_view s) {
  if (s == "user") return PrincipalKind::kUser;
  if (s == "robot") return PrincipalKind::kRobot;
  return std::nullopt;
}

std::string_view role_name(Role r) {
  switch (r) {
    case Role::kRead: return "read";
    case Role::kWrite: return "write";
    case Role::kAdmin: return "admin";
  }
  return "read";
}

std::optional<Role> parse_role(std::string_view s) {
  if (s == "read") return Role::kRead;
  if (s == "write") return Role::kWrite;
  if (s == "admin") return Role::kAdmin;
  return std::nullopt;
}

std::string_view namespace_of(std::string_view repository) { return repository.substr(0, repository.find('/')); }

bool is_valid_account_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name.front())) return false;
  for (char c : name)
    if (!alnum(c) && c != '.' && c != '_' && c != '-') return false;
  return true;
}

}  // namespace custody::auth
