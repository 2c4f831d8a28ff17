#include <gtest/gtest.h>

#include <filesystem>

#include "common/ids.h"
#include "meta/sqlite_meta_store.h"

namespace custody::meta {
namespace {

namespace fs = std::filesystem;
using auth::Grant;
using auth::Role;

class SqliteIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("custody-identity-" + random_uuid());
    fs::create_directories(dir_);
    auto s = SqliteMetaStore::open(dir_ / "meta.db", 2);
    ASSERT_TRUE(s);
    store_ = std::move(*s);
    ASSERT_TRUE(store_->transact([](Txn& t) -> Status {
      auto& id = t.identity();
      for (auto name : {"alice", "bob", "carol"}) {
        if (auto s = id.create_principal({.name = name}, "pw-" + std::string(name), ""); !s) return s;
      }
      if (auto s = id.create_principal({.name = "robot$acme+ci", .kind = auth::PrincipalKind::kRobot,
                                        .owner_namespace = "acme"}, "", "secret-hash"); !s) return s;
      return id.create_namespace({.name = "acme"});
    }));
  }
  void TearDown() override { fs::remove_all(dir_); }

  auth::RepositoryAccess access(const std::string& who, const std::string& repo) {
    auth::RepositoryAccess a;
    EXPECT_TRUE(store_->read([&](Txn& t) -> Status {
      auto r = t.identity().access(who, repo);
      if (!r) return std::unexpected(r.error());
      a = *r;
      return {};
    }));
    return a;
  }
  Status change(const std::function<Status(IdentityTxn&)>& fn) {
    return store_->transact([&](Txn& t) { return fn(t.identity()); });
  }

  fs::path dir_;
  std::unique_ptr<SqliteMetaStore> store_;
};

TEST_F(SqliteIdentityTest, PrincipalsAreUniqueAndKeepTheirSecretsApart) {
  auto dup = change([](IdentityTxn& id) { return id.create_principal({.name = "alice"}, "x", ""); });
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);
  ASSERT_TRUE(store_->read([](Txn& t) -> Status {
    auto& id = t.identity();
    EXPECT_EQ(**id.password_hash("alice"), "pw-alice");
    EXPECT_EQ(**id.secret_hash("robot$acme+ci"), "secret-hash");
    auto robot = **id.principal("robot$acme+ci");
    EXPECT_EQ(robot.kind, auth::PrincipalKind::kRobot);
    EXPECT_EQ(robot.owner_namespace, "acme");
    EXPECT_FALSE(*id.principal("nobody"));
    EXPECT_EQ(*id.principal_count(), 4);
    auto page = *id.principals("alice", 2);
    EXPECT_EQ(page.size(), 2u);
    EXPECT_EQ(page[0].name, "bob");
    return {};
  }));
}

TEST_F(SqliteIdentityTest, PrivateByDefaultAndNoRoleWithoutGrant) {
  auto a = access("alice", "acme/app");
  EXPECT_FALSE(a.is_public);
  EXPECT_FALSE(a.is_protected);
  EXPECT_FALSE(a.role);
}

TEST_F(SqliteIdentityTest, HighestRoleWinsAcrossNamespaceRepositoryAndTeams) {
  ASSERT_TRUE(change([](IdentityTxn& id) -> Status {
    if (auto s = id.put_grant({.subject = "alice", .ns = "acme", .role = Role::kRead}); !s) return s;
    if (auto s = id.put_grant({.subject = "alice", .ns = "acme", .repository = "acme/app", .role = Role::kWrite});
        !s)
      return s;
    if (auto s = id.create_team("acme", "ops"); !s) return s;
    if (auto s = id.add_team_member("acme", "ops", "bob"); !s) return s;
    return id.put_grant({.subject_kind = Grant::Subject::kTeam, .subject = "acme/ops", .ns = "acme",
                         .role = Role::kAdmin});
  }));
  EXPECT_EQ(access("alice", "acme/app").role, Role::kWrite);
  EXPECT_EQ(access("alice", "acme/other").role, Role::kRead);
  EXPECT_EQ(access("bob", "acme/app").role, Role::kAdmin);
  EXPECT_FALSE(access("carol", "acme/app").role);
  EXPECT_FALSE(access("", "acme/app").role);  // anonymous never matches a grant
  EXPECT_FALSE(access("alice", "other/app").role);

  ASSERT_TRUE(change([](IdentityTxn& id) -> Status {
    auto removed = id.remove_team_member("acme", "ops", "bob");
    EXPECT_TRUE(removed && *removed);
    return {};
  }));
  EXPECT_FALSE(access("bob", "acme/app").role);
}

TEST_F(SqliteIdentityTest, RepositorySettingsOverrideTheNamespace) {
  ASSERT_TRUE(change([](IdentityTxn& id) { return id.set_namespace_flags("acme", true, true); }));
  EXPECT_TRUE(access("", "acme/app").is_public);
  EXPECT_TRUE(access("", "acme/app").is_protected);
  ASSERT_TRUE(change([](IdentityTxn& id) { return id.set_repository_flags("acme/app", false, std::nullopt); }));
  EXPECT_FALSE(access("", "acme/app").is_public);
  EXPECT_TRUE(access("", "acme/app").is_protected);  // untouched flag still inherits
  ASSERT_TRUE(change([](IdentityTxn& id) { return id.set_repository_flags("acme/app", std::nullopt, false); }));
  EXPECT_FALSE(access("", "acme/app").is_public);  // an earlier override survives
  EXPECT_FALSE(access("", "acme/app").is_protected);
  EXPECT_TRUE(access("", "acme/other").is_public);
}

TEST_F(SqliteIdentityTest, RevocationsAndDisabling) {
  ASSERT_TRUE(change([](IdentityTxn& id) -> Status {
    if (auto s = id.revoke_certificate("0a1b", "key compromise"); !s) return s;
    if (auto s = id.revoke_certificate("0a1b", "again"); !s) return s;  // idempotent
    return id.set_disabled("carol", true);
  }));
  ASSERT_TRUE(store_->read([](Txn& t) -> Status {
    auto& id = t.identity();
    EXPECT_TRUE(*id.certificate_revoked("0a1b"));
    EXPECT_FALSE(*id.certificate_revoked("ffff"));
    EXPECT_EQ(id.revoked_certificates()->size(), 1u);
    EXPECT_TRUE((**id.principal("carol")).disabled);
    return {};
  }));
}

}  // namespace
}  // namespace custody::meta
