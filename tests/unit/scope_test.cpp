#include "auth/scope.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace custody::auth {
namespace {

using json = nlohmann::json;

TEST(ScopeTest, ParsesRepositoryScopes) {
  auto s = parse_scope("repository:org/app:pull,push");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->type, "repository");
  EXPECT_EQ(s->resource_class, "");
  EXPECT_EQ(s->name, "org/app");
  EXPECT_EQ(s->actions, (std::vector<std::string>{"pull", "push"}));
  EXPECT_EQ(format_scope(*s), "repository:org/app:pull,push");
}

TEST(ScopeTest, ParsesResourceClassAndCatalog) {
  auto plugin = parse_scope("repository(plugin):org/plugin:pull");
  ASSERT_TRUE(plugin) << plugin.error().message;
  EXPECT_EQ(plugin->type, "repository");
  EXPECT_EQ(plugin->resource_class, "plugin");
  EXPECT_EQ(format_scope(*plugin), "repository(plugin):org/plugin:pull");
  auto catalog = parse_scope("registry:catalog:*");
  ASSERT_TRUE(catalog) << catalog.error().message;
  EXPECT_EQ(catalog->actions, std::vector<std::string>{"*"});
  EXPECT_EQ(format_scope(*catalog), "registry:catalog:*");
}

TEST(ScopeTest, KeepsRepeatedActionsOnceAndUnknownActions) {
  auto s = parse_scope("repository:a:pull,push,pull,frobnicate,*");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->actions, (std::vector<std::string>{"pull", "push", "frobnicate", "*"}));
}

TEST(ScopeTest, RejectsMalformedScopes) {
  for (const char* bad : {"", "repository", "repository:a", "repository:a:", "repository::pull",
                          ":a:pull", "repository:a:pull,", "repository:a:,pull", "repository:a:pull,,push",
                          "repository:a:PULL", "repository:a:pu ll", "repository:a:pull*",
                          "Repository:a:pull", "repo-sitory:a:pull", "repository():a:pull",
                          "repository(plugin:a:pull", "repository(Plugin):a:pull", "repository(a)(b):a:pull",
                          "repository:A:pull", "repository:a/../b:pull", "repository:/a:pull",
                          "repository:a/:pull", "repository:localhost:5000/app:pull",
                          "registry:other:*", "registry(x):catalog:*", "blob:a:pull",
                          "repository:a b:pull"})
    EXPECT_FALSE(parse_scope(bad)) << bad;
}

TEST(ScopeTest, EnforcesCaps) {
  EXPECT_TRUE(parse_scope("repository:" + std::string(255, 'a') + ":pull"));
  EXPECT_FALSE(parse_scope("repository:" + std::string(256, 'a') + ":pull"));
  EXPECT_FALSE(parse_scope("repository:a:" + std::string(kMaxActionLength + 1, 'p')));
  EXPECT_FALSE(parse_scope(std::string(kMaxResourceTypeLength + 1, 'r') + ":a:pull"));
  std::string many = "repository:a:a";
  for (size_t i = 1; i <= kMaxScopeActions; ++i) many += ",a" + std::string(i, 'b');
  auto err = parse_scope(many);
  ASSERT_FALSE(err);
  EXPECT_NE(err.error().message.find("too many actions"), std::string::npos);
  EXPECT_FALSE(parse_scope(std::string(kMaxScopeLength + 1, 'a')));
  // Repeats count against the cap before they are merged.
  std::string repeats = "repository:a:pull";
  for (int i = 0; i < 100; ++i) repeats += ",pull";
  EXPECT_FALSE(parse_scope(repeats));
}

TEST(ScopeTest, ErrorsSayWhatIsWrong) {
  auto host = parse_scope("repository:localhost:5000/app:pull");
  ASSERT_FALSE(host);
  EXPECT_EQ(host.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(host.error().message.find("registry host"), std::string::npos);
  auto type = parse_scope("blob:a:pull");
  ASSERT_FALSE(type);
  EXPECT_NE(type.error().message.find("unsupported resource type"), std::string::npos);
}

TEST(ScopeTest, ParsesSeveralParametersAndMerges) {
  std::vector<std::string> params = {"repository:a:pull", "repository:b:push repository:a:push,pull",
                                     "registry:catalog:*", ""};
  auto scopes = parse_scopes(params);
  ASSERT_TRUE(scopes) << scopes.error().message;
  ASSERT_EQ(scopes->size(), 3u);
  EXPECT_EQ(format_scope((*scopes)[0]), "repository:a:pull,push");
  EXPECT_EQ(format_scope((*scopes)[1]), "repository:b:push");
  EXPECT_EQ(format_scopes(*scopes), "repository:a:pull,push repository:b:push registry:catalog:*");
  // A class makes a different resource.
  std::vector<std::string> classes = {"repository:a:pull", "repository(plugin):a:pull"};
  EXPECT_EQ(parse_scopes(classes)->size(), 2u);
}

TEST(ScopeTest, ParseScopesRefusesBadOrTooMany) {
  std::vector<std::string> bad = {"repository:a:pull", "repository:a"};
  EXPECT_FALSE(parse_scopes(bad));
  std::vector<std::string> many;
  for (size_t i = 0; i <= kMaxScopes; ++i) many.push_back("repository:a" + std::to_string(i) + ":pull");
  EXPECT_FALSE(parse_scopes(many));
  many.pop_back();
  EXPECT_TRUE(parse_scopes(many));
  std::vector<std::string> none;
  EXPECT_TRUE(parse_scopes(none)->empty());
}

TEST(ScopeTest, AccessClaimRoundTrips) {
  std::vector<Scope> access = {*parse_scope("repository:org/app:pull,push"),
                               *parse_scope("repository(plugin):org/p:pull"), *parse_scope("registry:catalog:*"),
                               Scope{"repository", "", "org/none", {}}};
  json j = access_to_json(access);
  EXPECT_EQ(j[0], json::parse(R"({"type":"repository","name":"org/app","actions":["pull","push"]})"));
  EXPECT_EQ(j[1]["class"], "plugin");
  EXPECT_FALSE(j[0].contains("class"));
  auto back = access_from_json(j);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, access);
}

TEST(ScopeTest, AccessClaimIsStrict) {
  for (const char* bad : {
           R"({})", R"(null)", R"([1])", R"([{"name":"a","actions":["pull"]}])",
           R"([{"type":"repository","actions":["pull"]}])", R"([{"type":"repository","name":"a"}])",
           R"([{"type":"repository","name":"a","actions":"pull"}])",
           R"([{"type":"repository","name":"a","actions":[1]}])",
           R"([{"type":"repository","name":"a","actions":["pull","pull"]}])",
           R"([{"type":"repository","name":"a","actions":["PULL"]}])",
           R"([{"type":"repository","name":"A","actions":["pull"]}])",
           R"([{"type":"repository","name":"a","actions":["pull"],"extra":1}])",
           R"([{"type":"repository","name":"a","class":7,"actions":["pull"]}])",
           R"([{"type":1,"name":"a","actions":["pull"]}])", R"([{"type":"blob","name":"a","actions":["pull"]}])"})
    EXPECT_FALSE(access_from_json(json::parse(bad))) << bad;
  json many = json::array();
  for (size_t i = 0; i <= kMaxScopes; ++i)
    many.push_back({{"type", "repository"}, {"name", "a"}, {"actions", {"pull"}}});
  EXPECT_FALSE(access_from_json(many));
  EXPECT_TRUE(access_from_json(json::array())->empty());
}

TEST(ScopeTest, ValidateScopeRequiresActionsUnlessAllowed) {
  Scope s{"repository", "", "a", {}};
  EXPECT_FALSE(validate_scope(s));
  EXPECT_TRUE(validate_scope(s, /*allow_no_actions=*/true));
}

}  // namespace
}  // namespace custody::auth
