#include "auth/enrolment.h"

#include <nlohmann/json.hpp>

#include "auth/identity.h"
#include "auth/password.h"
#include "common/time.h"

namespace custody::auth {

Result<std::optional<std::string>> enrol_first_admin(meta::MetaStore& meta) {
  auto secret = generate_secret();
  if (!secret) return std::unexpected(secret.error());
  bool created = false;
  auto r = meta.transact([&](meta::Txn& t) -> Status {
    auto count = t.identity().principal_count();
    if (!count) return std::unexpected(count.error());
    if (*count > 0) return {};
    Principal p{std::string(kFirstAdmin), PrincipalKind::kUser, true, false, std::nullopt, "", now_unix_ms()};
    if (auto s = t.identity().create_principal(p, "", hash_secret(*secret)); !s) return s;
    // Like every user, the administrator owns the namespace of its name.
    if (auto s = t.identity().create_namespace({p.name, Namespace::Kind::kUser, false, false, p.created_ms}); !s)
      return s;
    if (auto s = t.identity().put_grant({Grant::Subject::kPrincipal, p.name, p.name, "", Role::kAdmin}); !s) return s;
    meta::Event e;
    e.actor = "custody";
    e.auth = "system";
    e.action = "identity.enrol";
    e.detail_json = R"({"name":"admin","system_admin":true})";
    auto seq = t.append_event(e);
    if (!seq) return std::unexpected(seq.error());
    created = true;
    return {};
  });
  if (!r) return std::unexpected(r.error());
  if (!created) return std::optional<std::string>{};
  return std::optional<std::string>{*secret};
}

Result<std::string> recover_admin(meta::MetaStore& meta, const std::string& name) {
  if (!is_valid_account_name(name) || name == "anonymous")
    return fail(ErrorCode::kInvalidArgument, "not a user name: " + name);
  auto secret = generate_secret();
  if (!secret) return std::unexpected(secret.error());
  auto r = meta.transact([&](meta::Txn& t) -> Status {
    auto existing = t.identity().principal(name);
    if (!existing) return std::unexpected(existing.error());
    if (*existing && (*existing)->kind != PrincipalKind::kUser)
      return fail(ErrorCode::kInvalidArgument, name + " is a robot, not a user");
    if (!*existing) {
      Principal p{name, PrincipalKind::kUser, true, false, std::nullopt, "", now_unix_ms()};
      if (auto s = t.identity().create_principal(p, "", hash_secret(*secret)); !s) return s;
    } else if (auto s = t.identity().set_secret_hash(name, hash_secret(*secret)); !s) {
      return s;
    }
    if (auto s = t.identity().set_system_admin(name, true); !s) return s;
    if (auto s = t.identity().set_disabled(name, false); !s) return s;
    meta::Event e;
    e.actor = "custody";
    e.auth = "local";
    e.action = "identity.recover";
    e.detail_json = nlohmann::json{{"name", name}, {"system_admin", true}}.dump();
    auto seq = t.append_event(e);
    if (!seq) return std::unexpected(seq.error());
    return {};
  });
  if (!r) return std::unexpected(r.error());
  return *secret;
}

}  // namespace custody::auth
