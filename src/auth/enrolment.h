// First-start enrolment: the first system administrator, with a secret
// shown once. There is no default password anywhere.
#pragma once

#include <optional>
#include <string>

#include "common/error.h"
#include "meta/meta_store.h"

namespace custody::auth {

inline constexpr std::string_view kFirstAdmin = "admin";

// If the store holds no account, creates the system administrator "admin"
// with a fresh secret (stored as its hash, with an identity.enrol event in
// the same transaction) and returns the secret; otherwise nullopt.
Result<std::optional<std::string>> enrol_first_admin(meta::MetaStore& meta);

}  // namespace custody::auth
