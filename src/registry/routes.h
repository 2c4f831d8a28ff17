// Matching of /v2/ request paths to the Distribution API's endpoints.
// Repository names may contain '/', so the endpoint is found from the
// right-hand end of the path.
#pragma once

#include <string>
#include <string_view>

namespace custody::registry {

enum class Endpoint {
  kBase,          // /v2/
  kCatalog,       // /v2/_catalog
  kTags,          // /v2/<name>/tags/list
  kManifest,      // /v2/<name>/manifests/<reference>
  kBlob,          // /v2/<name>/blobs/<digest>
  kUploadStart,   // /v2/<name>/blobs/uploads/
  kUpload,        // /v2/<name>/blobs/uploads/<id>
  kReferrers,     // /v2/<name>/referrers/<digest>
  kNotFound,
};

struct Route {
  Endpoint endpoint = Endpoint::kNotFound;
  std::string name;       // repository (not yet validated)
  std::string argument;   // reference, digest or upload id
};

Route match_route(std::string_view path);

}  // namespace custody::registry
