// The RBAC rules of docs/auth.md, and the Authorization header parser.
#include <gtest/gtest.h>

#include "auth/access_rules.h"
#include "auth/credentials.h"

namespace custody::auth {
namespace {

using Actions = std::vector<std::string>;

Principal user(bool admin = false) { return Principal{"alice", PrincipalKind::kUser, admin}; }
Principal robot() { return Principal{"robot$acme+ci", PrincipalKind::kRobot}; }

TEST(AccessRulesTest, RolesGrowWithEachOther) {
  Principal u = user();
  EXPECT_EQ(repository_actions(&u, {false, false, std::nullopt}), Actions{});
  EXPECT_EQ(repository_actions(&u, {false, false, Role::kRead}), (Actions{"pull"}));
  EXPECT_EQ(repository_actions(&u, {false, false, Role::kWrite}), (Actions{"pull", "push"}));
  EXPECT_EQ(repository_actions(&u, {false, false, Role::kAdmin}), (Actions{"pull", "push", "delete"}));
}

TEST(AccessRulesTest, PublicGivesEveryonePullOnly) {
  Principal u = user();
  EXPECT_EQ(repository_actions(nullptr, {true, false, std::nullopt}), (Actions{"pull"}));
  EXPECT_EQ(repository_actions(&u, {true, false, std::nullopt}), (Actions{"pull"}));
  EXPECT_EQ(repository_actions(nullptr, {false, false, std::nullopt}), Actions{});
}

TEST(AccessRulesTest, SystemAdminsHoldEverythingButProtectedWrites) {
  Principal a = user(true);
  EXPECT_EQ(repository_actions(&a, {false, false, std::nullopt}), (Actions{"pull", "push", "delete"}));
  EXPECT_EQ(repository_actions(&a, {false, true, std::nullopt}), (Actions{"pull"}));
  EXPECT_TRUE(denied_by_protection(&a, {false, true, std::nullopt}, "push"));
}

TEST(AccessRulesTest, ProtectedRepositoriesTakeWritesFromRobotsOnly) {
  Principal u = user();
  Principal r = robot();
  RepositoryAccess prot{false, true, Role::kWrite};
  EXPECT_EQ(repository_actions(&u, prot), (Actions{"pull"}));
  EXPECT_EQ(repository_actions(&r, prot), (Actions{"pull", "push"}));
  EXPECT_TRUE(denied_by_protection(&u, prot, "push"));
  EXPECT_FALSE(denied_by_protection(&u, prot, "delete"));  // a write role never held delete
  EXPECT_FALSE(denied_by_protection(&r, prot, "push"));
  EXPECT_FALSE(denied_by_protection(&u, prot, "pull"));
  EXPECT_FALSE(denied_by_protection(nullptr, prot, "push"));
}

TEST(CredentialsTest, ParsesBasicAndBearer) {
  auto basic = parse_authorization("Basic YWxpY2U6czNjcjN0Og==");  // alice:s3cr3t:
  EXPECT_EQ(basic.kind, Credentials::Kind::kBasic);
  EXPECT_EQ(basic.user, "alice");
  EXPECT_EQ(basic.secret, "s3cr3t:");
  auto bearer = parse_authorization("bearer abc.def.ghi");
  EXPECT_EQ(bearer.kind, Credentials::Kind::kBearer);
  EXPECT_EQ(bearer.secret, "abc.def.ghi");
  EXPECT_EQ(parse_authorization(std::nullopt).kind, Credentials::Kind::kNone);
}

TEST(CredentialsTest, RefusesMalformedHeaders) {
  for (std::string_view h : {"", "Basic", "Basic !!!!", "Basic YWxpY2U=", "Digest x", "Bearer ", "Basicx YQ==",
                             "Basic YQBiOmM="}) {  // the last holds a NUL
    EXPECT_EQ(parse_authorization(h).kind, Credentials::Kind::kMalformed) << h;
  }
}

}  // namespace
}  // namespace custody::auth
