#include "auth/access_rules.h"

#include <algorithm>
#include <optional>

namespace custody::auth {
namespace {

std::vector<std::string> unprotected_actions(const Principal* who, const RepositoryAccess& access) {
  std::optional<Role> role;
  if (who) role = who->system_admin ? Role::kAdmin : access.role;
  std::vector<std::string> out;
  if (access.is_public || role) out.emplace_back("pull");
  if (role && *role >= Role::kWrite) out.emplace_back("push");
  if (role && *role >= Role::kAdmin) out.emplace_back("delete");
  return out;
}

bool is_write(std::string_view action) { return action == "push" || action == "delete"; }

}  // namespace

std::vector<std::string> repository_actions(const Principal* who, const RepositoryAccess& access) {
  auto actions = unprotected_actions(who, access);
  if (access.is_protected && (!who || who->kind != PrincipalKind::kRobot))
    std::erase_if(actions, [](const std::string& a) { return is_write(a); });
  return actions;
}

bool denied_by_protection(const Principal* who, const RepositoryAccess& access, std::string_view action) {
  if (!who || who->kind == PrincipalKind::kRobot || !access.is_protected || !is_write(action)) return false;
  auto actions = unprotected_actions(who, access);
  return std::find(actions.begin(), actions.end(), action) != actions.end();
}

}  // namespace custody::auth
