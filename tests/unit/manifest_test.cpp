#include "registry/manifest.h"

#include <gtest/gtest.h>

namespace custody::registry {
namespace {

const std::string kDigest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string image_manifest(const std::string& extra = "", bool with_media_type = true) {
  return std::string("{\"schemaVersion\":2,") +
         (with_media_type ? "\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"," : "") +
         "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" + kDigest +
         "\",\"size\":0},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" +
         kDigest + "\",\"size\":0}]" + extra + "}\n";
}

TEST(ManifestTest, ParsesImageManifest) {
  auto m = parse_manifest(image_manifest(), "");
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->media_type, media_type::kOciManifest);
  EXPECT_FALSE(m->is_index);
  EXPECT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(*m->artifact_type, "application/vnd.oci.image.config.v1+json");
}

TEST(ManifestTest, UmociStyleWithoutMediaType) {
  auto m = parse_manifest(image_manifest("", false), "");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->media_type, media_type::kOciManifest);
  m = parse_manifest(image_manifest("", false), std::string(media_type::kDockerManifest));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->media_type, media_type::kDockerManifest);
}

TEST(ManifestTest, ContentTypeMustMatchBody) {
  auto m = parse_manifest(image_manifest(), std::string(media_type::kOciIndex));
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("does not match"), std::string::npos);
  EXPECT_TRUE(parse_manifest(image_manifest(), "application/vnd.oci.image.manifest.v1+json; charset=utf-8"));
  EXPECT_TRUE(parse_manifest(image_manifest(), "application/octet-stream"));
}

TEST(ManifestTest, IndexWithSubjectAndArtifactType) {
  std::string body = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
                     "\"artifactType\":\"application/example\",\"manifests\":[{\"mediaType\":"
                     "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" + kDigest + "\",\"size\":7}],"
                     "\"subject\":{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" +
                     kDigest + "\",\"size\":1},\"annotations\":{\"a\":\"b\"}}";
  auto m = parse_manifest(body, "");
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_TRUE(m->is_index);
  EXPECT_EQ(m->manifests.size(), 1u);
  ASSERT_TRUE(m->subject);
  EXPECT_EQ(*m->artifact_type, "application/example");
  EXPECT_EQ(*m->annotations_json, "{\"a\":\"b\"}");
}

TEST(ManifestTest, RefusesSchema1) {
  auto m = parse_manifest("{\"schemaVersion\":1,\"name\":\"x\",\"fsLayers\":[]}", "");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, ErrorCode::kUnimplemented);
  m = parse_manifest(image_manifest(), std::string(media_type::kDockerSchema1Signed));
  ASSERT_FALSE(m);
}

TEST(ManifestTest, RejectsMalformed) {
  for (std::string bad : {std::string(""), std::string("null"), std::string("[]"), std::string("{"),
                          std::string("{\"schemaVersion\":3}"), std::string("{\"schemaVersion\":\"2\"}"),
                          std::string("{\"schemaVersion\":2,\"layers\":[]}"),
                          image_manifest(",\"manifests\":[]"),
                          image_manifest(",\"annotations\":{\"a\":1}"),
                          image_manifest(",\"subject\":{\"digest\":\"sha256:x\"}")}) {
    EXPECT_FALSE(parse_manifest(bad, "")) << bad;
  }
  std::string bad_size = image_manifest();
  bad_size.replace(bad_size.find("\"size\":0"), 8, "\"size\":-1");
  EXPECT_FALSE(parse_manifest(bad_size, ""));
  std::string bad_digest = image_manifest();
  bad_digest.replace(bad_digest.find(kDigest), kDigest.size(), "sha256:abc");
  EXPECT_FALSE(parse_manifest(bad_digest, ""));
}

TEST(ManifestTest, BoundsNesting) {
  std::string deep = image_manifest(",\"annotations\":{\"x\":\"y\"},\"z\":" + std::string(100, '[') +
                                    std::string(100, ']'));
  auto m = parse_manifest(deep, "");
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("nested"), std::string::npos);
  // Brackets inside strings do not count.
  EXPECT_TRUE(parse_manifest(image_manifest(",\"annotations\":{\"x\":\"" + std::string(100, '[') + "\"}"), ""));
}

}  // namespace
}  // namespace custody::registry
