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

// Recovery when every administrator's credentials are lost: gives the user
// `name` a fresh secret and makes it a system administrator (creating it
// if needed), with an identity.recover event. Only someone who can write
// the data directory can call it (`custody enrol`); returns the secret.
Result<std::string> recover_admin(meta::MetaStore& meta, const std::string& name);

}  // namespace custody::auth
