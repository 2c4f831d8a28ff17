// The RBAC rules of docs/auth.md as pure functions: which token actions an
// account holds on a repository, given the repository's settings and the
// account's highest role there.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "auth/identity.h"

namespace custody::auth {

// The actions (of "pull", "push", "delete") that `who` holds; nullptr is
// anonymous. Public repositories give everyone pull; system administrators
// hold admin everywhere; a protected repository takes push and delete only
// from robots.
std::vector<std::string> repository_actions(const Principal* who, const RepositoryAccess& access);

// True when `who` would hold `action` if the repository were not
// protected: the refusal then says so (and is logged).
bool denied_by_protection(const Principal* who, const RepositoryAccess& access, std::string_view action);

}  // namespace custody::auth
