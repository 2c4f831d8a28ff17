#include "registry/api.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace custody::registry {
namespace {

using json = nlohmann::json;

const char* route_label(Endpoint e, const std::string& method) {
  switch (e) {
    case Endpoint::kBase: return "base";
    case Endpoint::kCatalog: return "catalog";
    case Endpoint::kTags: return "tags_list";
    case Endpoint::kManifest:
      return method == "GET" ? "manifest_get" : method == "HEAD" ? "manifest_head" : method == "PUT" ? "manifest_put" : "manifest_other";
    case Endpoint::kBlob: return method == "GET" ? "blob_get" : method == "HEAD" ? "blob_head" : "blob_other";
    case Endpoint::kUploadStart: return "upload_start";
    case Endpoint::kUpload: return "upload";
    case Endpoint::kReferrers: return "referrers";
    case Endpoint::kNotFound: return "not_found";
  }
  return "other";
}

// Valid /v2/ requests whose name fails the grammar never reach storage.
bool needs_name(Endpoint e) { return e != Endpoint::kBase && e != Endpoint::kCatalog && e != Endpoint::kNotFound; }

// The action a request needs (docs/auth.md). Unknown methods need pull, so
// that a 405 never tells an unauthenticated client anything.
std::string_view needed_action(Endpoint e, const std::string& method) {
  switch (e) {
    case Endpoint::kBase: return action::kAny;
    case Endpoint::kCatalog: return action::kCatalog;
    case Endpoint::kUploadStart:
    case Endpoint::kUpload: return action::kPush;
    case Endpoint::kManifest:
      if (method == "PUT") return action::kPush;
      return method == "DELETE" ? action::kDelete : action::kPull;
    case Endpoint::kBlob: return method == "DELETE" ? action::kDelete : action::kPull;
    default: return action::kPull;
  }
}

}  // namespace

http::Response json_response(int status, std::string body, std::string_view content_type) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers.set("Content-Type", std::string(content_type));
  return r;
}

http::Response error_response(const RegistryError& e) {
  json err = {{"code", oci_code_name(e.code)}, {"message", e.message}};
  err["detail"] = e.detail.empty() ? json(nullptr) : json(e.detail);
  json body = {{"errors", json::array({err})}};
  return json_response(e.http_status(), body.dump(-1, ' ', false, json::error_handler_t::replace));
}

Actor actor_of(const http::Request& req) { return Actor{req.principal, req.auth_method, req.remote_address}; }

ReadFn body_reader(http::Request& req) {
  return [&req](std::span<std::byte> out) -> Result<size_t> {
    if (!req.body) return 0;
    return req.body->read(out);
  };
}

RegResult<Digest> parse_digest_arg(std::string_view text) {
  auto d = Digest::parse(text);
  if (!d) return std::unexpected(RegistryError{OciCode::kDigestInvalid, d.error().message, std::string(text.substr(0, 300))});
  return *d;
}

std::string upload_location(const std::string& repo, const std::string& id) {
  return fmt::format("/v2/{}/blobs/uploads/{}", repo, id);
}

std::string range_value(uint64_t size) { return fmt::format("0-{}", size == 0 ? 0 : size - 1); }

void Api::record_pull(const http::Request& req, std::string action, const std::string& repo, const Digest& digest,
                      std::string tag) {
  if (!options_.on_pull) return;
  Actor a = actor_of(req);
  meta::Event e;
  e.actor = a.name;
  e.auth = a.auth;
  e.source = a.source;
  e.action = std::move(action);
  e.repository = repo;
  e.digest = digest.str();
  e.tag = std::move(tag);
  options_.on_pull(std::move(e));
}

http::Response Api::handle(http::Request& req) {
  Route route = match_route(req.path);
  http::Response res;
  if (route.endpoint == Endpoint::kNotFound) {
    res = error_response({OciCode::kNameUnknown, "no such endpoint", req.path.substr(0, 300), 404});
  } else if (needs_name(route.endpoint) && !is_valid_repository_name(route.name)) {
    res = error_response({OciCode::kNameInvalid, "invalid repository name", route.name.substr(0, 300)});
  } else if (auto allowed = access_.authorize(req, route.name, needed_action(route.endpoint, req.method));
             !allowed) {
    res = std::move(allowed.error());
  } else {
    switch (route.endpoint) {
      case Endpoint::kBase:
        if (req.method != "GET" && req.method != "HEAD") {
          res = error_response({OciCode::kUnsupported, "method not allowed"});
        } else {
          res = json_response(200, "{}");
        }
        break;
      case Endpoint::kCatalog: res = handle_catalog(req); break;
      case Endpoint::kTags: res = handle_tags(req, route); break;
      case Endpoint::kManifest: res = handle_manifest(req, route); break;
      case Endpoint::kBlob: res = handle_blob(req, route); break;
      case Endpoint::kUploadStart: res = handle_upload_start(req, route); break;
      case Endpoint::kUpload: res = handle_upload(req, route); break;
      case Endpoint::kReferrers: res = handle_referrers(req, route); break;
      case Endpoint::kNotFound: break;
    }
  }
  res.route = route_label(route.endpoint, req.method);
  res.headers.set("Docker-Distribution-API-Version", "registry/2.0");
  return res;
}

}  // namespace custody::registry
