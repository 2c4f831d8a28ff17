#include "auth/enrolment.h"

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

}  // namespace custody::auth
