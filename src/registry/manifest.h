// Manifest parsing and shape validation (no storage access).
//
// Accepts OCI image manifests and indexes, Docker v2 schema 2 manifests and
// manifest lists; refuses schema 1. The body is never re-serialized: the
// caller stores the bytes it was given, and this only reads them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/digest.h"
#include "common/error.h"

namespace custody::registry {

namespace media_type {
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view kDockerSchema1Signed =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
}  // namespace media_type

// True for the four manifest media types this registry stores.
bool is_supported_manifest_type(std::string_view media_type);
bool is_index_type(std::string_view media_type);
// "application/json; charset=utf-8" -> "application/json"
std::string_view strip_media_type_params(std::string_view content_type);

struct Descriptor {
  std::string media_type;
  Digest digest;
  uint64_t size = 0;
  std::optional<std::string> artifact_type;
  bool has_urls = false;  // non-distributable layers fetched from elsewhere
};

struct ParsedManifest {
  std::string media_type;  // as resolved from the body or Content-Type
  bool is_index = false;
  std::optional<Descriptor> config;    // image manifests
  std::vector<Descriptor> layers;      // image manifests
  std::vector<Descriptor> manifests;   // indexes
  std::optional<Descriptor> subject;
  // artifactType, else (image manifests) config.mediaType, per OCI 1.1.
  std::optional<std::string> artifact_type;
  std::optional<std::string> annotations_json;
};

inline constexpr size_t kMaxJsonDepth = 64;

// Parses `body` pushed with `content_type` (may be empty). Errors are
// kInvalidArgument with a message a user can act on; schema 1 is
// kUnimplemented.
Result<ParsedManifest> parse_manifest(std::string_view body, std::string_view content_type);

}  // namespace custody::registry
