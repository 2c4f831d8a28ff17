// IdentityTxn on SQLite. Private to meta/.
#pragma once

#include "meta/meta_store.h"

namespace custody::meta {

class Connection;
class Statement;

class SqliteIdentity final : public IdentityTxn {
 public:
  explicit SqliteIdentity(Connection& c) : c_(c) {}

  Status create_principal(const auth::Principal& p, const std::string& password_hash,
                          const std::string& secret_hash) override;
  Result<std::optional<auth::Principal>> principal(const std::string& name) override;
  Result<std::optional<std::string>> password_hash(const std::string& name) override;
  Result<std::optional<std::string>> secret_hash(const std::string& name) override;
  Status set_password_hash(const std::string& name, const std::string& hash) override;
  Status set_disabled(const std::string& name, bool disabled) override;
  Status set_secret_hash(const std::string& name, const std::string& hash) override;
  Status set_system_admin(const std::string& name, bool system_admin) override;
  Result<std::vector<auth::Principal>> principals(const std::string& after, uint32_t limit) override;
  Result<int64_t> principal_count() override;

  Status create_namespace(const auth::Namespace& ns) override;
  Result<std::optional<auth::Namespace>> find_namespace(const std::string& name) override;
  Result<std::vector<auth::Namespace>> namespaces(const std::string& after, uint32_t limit) override;
  Status set_namespace_flags(const std::string& name, bool is_public, bool is_protected) override;

  Status create_team(const std::string& ns, const std::string& team) override;
  Result<bool> team_exists(const std::string& ns, const std::string& team) override;
  Status add_team_member(const std::string& ns, const std::string& team, const std::string& principal) override;
  Result<bool> remove_team_member(const std::string& ns, const std::string& team,
                                  const std::string& principal) override;
  Result<std::vector<std::string>> team_members(const std::string& ns, const std::string& team) override;

  Status put_grant(const auth::Grant& g) override;
  Result<bool> delete_grant(const auth::Grant& g) override;
  Result<std::vector<auth::Grant>> grants(const std::string& ns) override;
  Result<auth::RepositoryAccess> access(const std::string& principal, const std::string& repository) override;
  Status set_repository_flags(const std::string& repository, std::optional<bool> is_public,
                              std::optional<bool> is_protected) override;

  Status revoke_certificate(const std::string& serial, const std::string& reason) override;
  Result<bool> certificate_revoked(const std::string& serial) override;
  Result<std::vector<std::string>> revoked_certificates() override;

 private:
  Result<std::optional<std::string>> one_text(const char* sql, const std::string& key);
  Connection& c_;
};

}  // namespace custody::meta
