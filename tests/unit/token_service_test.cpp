// TokenService: grants follow the RBAC rules against a real store, tokens
// verify, and the cache of verified tokens never vouches for a different
// token (a tampered copy of a cached one still fails).
#include "auth/token_service.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "auth/base64url.h"
#include "common/ids.h"
#include "meta/sqlite_meta_store.h"

namespace custody::auth {
namespace {

namespace fs = std::filesystem;

class TokenServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("custody-tokens-" + random_uuid());
    fs::create_directories(dir_);
    auto s = meta::SqliteMetaStore::open(dir_ / "meta.db", 2);
    ASSERT_TRUE(s);
    store_ = std::move(*s);
    ASSERT_TRUE(store_->transact([](meta::Txn& t) -> Status {
      auto& id = t.identity();
      if (auto s = id.create_principal({.name = "alice"}, "", ""); !s) return s;
      if (auto s = id.create_namespace({.name = "acme"}); !s) return s;
      return id.put_grant({Grant::Subject::kPrincipal, "alice", "acme", "", Role::kWrite});
    }));
    tokens_ = std::make_unique<TokenService>(*store_, *TokenKey::generate(), TokenOptions{});
  }
  void TearDown() override { fs::remove_all(dir_); }

  Identity alice() { return Identity{Principal{.name = "alice"}, "password"}; }

  fs::path dir_;
  std::unique_ptr<meta::SqliteMetaStore> store_;
  std::unique_ptr<TokenService> tokens_;
};

TEST_F(TokenServiceTest, GrantsWhatTheAccountHoldsOfWhatWasAsked) {
  Identity who = alice();
  auto asked = parse_scopes(std::vector<std::string>{"repository:acme/app:pull,push,delete repository:other/x:pull"});
  ASSERT_TRUE(asked);
  auto granted = tokens_->grant(&who, *asked);
  ASSERT_TRUE(granted);
  ASSERT_EQ(granted->size(), 2u);
  EXPECT_EQ((*granted)[0].actions, (std::vector<std::string>{"pull", "push"}));
  EXPECT_TRUE((*granted)[1].actions.empty());
  auto anonymous = tokens_->grant(nullptr, *asked);
  ASSERT_TRUE(anonymous);
  EXPECT_TRUE((*anonymous)[0].actions.empty());
}

TEST_F(TokenServiceTest, CachedTokensVerifyAndTamperedCopiesDoNot) {
  Identity who = alice();
  auto token = tokens_->access_token(&who, {});
  ASSERT_TRUE(token);
  for (int i = 0; i < 3; ++i) {  // the first verifies the signature, the others hit the cache
    auto claims = tokens_->verify_access(token->token);
    ASSERT_TRUE(claims) << claims.error().message;
    EXPECT_EQ(claims->sub, "alice");
    EXPECT_EQ(claims->amr, "password");
  }
  std::string tampered = token->token;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(tokens_->verify_access(tampered));
  // A refresh token is never an access token, nor the reverse.
  auto refresh = tokens_->refresh_token(who);
  ASSERT_TRUE(refresh);
  EXPECT_FALSE(tokens_->verify_access(refresh->token));
  EXPECT_FALSE(tokens_->verify_refresh(token->token));
  EXPECT_TRUE(tokens_->verify_refresh(refresh->token));
}

TEST_F(TokenServiceTest, AnotherServersTokensAreRefused) {
  TokenService other(*store_, *TokenKey::generate(), TokenOptions{});
  Identity who = alice();
  auto token = other.access_token(&who, {});
  ASSERT_TRUE(token);
  auto claims = tokens_->verify_access(token->token);
  ASSERT_FALSE(claims);
  EXPECT_EQ(claims.error().code, ErrorCode::kUnauthenticated);
}

}  // namespace
}  // namespace custody::auth
