#include "registry/routes.h"

namespace custody::registry {
namespace {

// Splits "<name>/<marker><arg>" where <arg> has no '/'.
bool split_at(std::string_view rest, std::string_view marker, Route& out) {
  auto pos = rest.rfind(marker);
  if (pos == std::string_view::npos || pos == 0) return false;
  std::string_view arg = rest.substr(pos + marker.size());
  if (arg.find('/') != std::string_view::npos) return false;
  out.name = std::string(rest.substr(0, pos));
  out.argument = std::string(arg);
  return true;
}

}  // namespace

Route match_route(std::string_view path) {
  Route r;
  if (path == "/v2/" || path == "/v2") {
    r.endpoint = Endpoint::kBase;
    return r;
  }
  if (!path.starts_with("/v2/")) return r;
  std::string_view rest = path.substr(4);
  if (rest == "_catalog") {
    r.endpoint = Endpoint::kCatalog;
    return r;
  }
  if (rest.ends_with("/tags/list") && rest.size() > 10) {
    r.endpoint = Endpoint::kTags;
    r.name = std::string(rest.substr(0, rest.size() - 10));
    return r;
  }
  if (rest.ends_with("/blobs/uploads/") || rest.ends_with("/blobs/uploads")) {
    auto cut = rest.rfind("/blobs/uploads");
    if (cut == 0) return r;
    r.endpoint = Endpoint::kUploadStart;
    r.name = std::string(rest.substr(0, cut));
    return r;
  }
  if (split_at(rest, "/blobs/uploads/", r) && !r.argument.empty()) {
    r.endpoint = Endpoint::kUpload;
    return r;
  }
  if (split_at(rest, "/manifests/", r) && !r.argument.empty()) {
    r.endpoint = Endpoint::kManifest;
    return r;
  }
  if (split_at(rest, "/blobs/", r) && !r.argument.empty()) {
    r.endpoint = Endpoint::kBlob;
    return r;
  }
  if (split_at(rest, "/referrers/", r) && !r.argument.empty()) {
    r.endpoint = Endpoint::kReferrers;
    return r;
  }
  return Route{};
}

}  // namespace custody::registry
