#include "registry/names.h"

#include <gtest/gtest.h>

#include "registry/routes.h"

namespace custody::registry {
namespace {

TEST(NamesTest, AcceptsSpecGrammar) {
  for (const char* ok : {"a", "library/busybox", "a-b/c__d/e.f", "a--b", "org/team/app", "0/1"})
    EXPECT_TRUE(is_valid_repository_name(ok)) << ok;
}

TEST(NamesTest, RejectsHostileNames) {
  for (const char* bad : {"", "/a", "a/", "a//b", "..", "a/../b", "A", "a..b", "a.-b", "-a", "a_", "a___b",
                          "a b", "a/%2e%2e", "_catalog", ".a"})
    EXPECT_FALSE(is_valid_repository_name(bad)) << bad;
  EXPECT_TRUE(is_valid_repository_name(std::string(255, 'a')));
  EXPECT_FALSE(is_valid_repository_name(std::string(256, 'a')));
}

TEST(NamesTest, Tags) {
  EXPECT_TRUE(is_valid_tag("latest"));
  EXPECT_TRUE(is_valid_tag("_v1.2-rc"));
  EXPECT_TRUE(is_valid_tag(std::string(128, 'a')));
  EXPECT_FALSE(is_valid_tag(std::string(129, 'a')));
  EXPECT_FALSE(is_valid_tag(".hidden"));
  EXPECT_FALSE(is_valid_tag("-x"));
  EXPECT_FALSE(is_valid_tag("a/b"));
  EXPECT_FALSE(is_valid_tag(""));
}

TEST(NamesTest, References) {
  auto tag = parse_reference("v1");
  ASSERT_TRUE(tag);
  EXPECT_TRUE(std::holds_alternative<std::string>(*tag));
  EXPECT_FALSE(parse_reference("sha256:nothex"));
  EXPECT_FALSE(parse_reference("bad tag"));
}

TEST(RoutesTest, MatchesEndpoints) {
  EXPECT_EQ(match_route("/v2/").endpoint, Endpoint::kBase);
  EXPECT_EQ(match_route("/v2/_catalog").endpoint, Endpoint::kCatalog);
  auto r = match_route("/v2/org/app/manifests/v1");
  EXPECT_EQ(r.endpoint, Endpoint::kManifest);
  EXPECT_EQ(r.name, "org/app");
  EXPECT_EQ(r.argument, "v1");
  r = match_route("/v2/a/b/c/blobs/uploads/");
  EXPECT_EQ(r.endpoint, Endpoint::kUploadStart);
  EXPECT_EQ(r.name, "a/b/c");
  r = match_route("/v2/a/blobs/uploads/1234");
  EXPECT_EQ(r.endpoint, Endpoint::kUpload);
  EXPECT_EQ(r.argument, "1234");
  r = match_route("/v2/a/tags/list");
  EXPECT_EQ(r.endpoint, Endpoint::kTags);
  EXPECT_EQ(r.name, "a");
  EXPECT_EQ(match_route("/v2/a/referrers/sha256:x").endpoint, Endpoint::kReferrers);
  EXPECT_EQ(match_route("/v2/a/manifests/").endpoint, Endpoint::kNotFound);
  EXPECT_EQ(match_route("/v2/manifests/x").endpoint, Endpoint::kNotFound);
  EXPECT_EQ(match_route("/v3/a/manifests/x").endpoint, Endpoint::kNotFound);
  EXPECT_EQ(match_route("/v2/a/blobs/x/y").endpoint, Endpoint::kNotFound);
}

}  // namespace
}  // namespace custody::registry
