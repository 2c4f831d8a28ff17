// Manifest, tag, catalog and referrers endpoints.
#include <strings.h>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "registry/api.h"

namespace custody::registry {
namespace {

using json = nlohmann::json;

http::Response method_not_allowed() { return error_response({OciCode::kUnsupported, "method not allowed"}); }

// True if any Accept header admits `type` (exact, "type/*" or "*/*").
// No Accept header at all admits everything.
bool accepts(const http::Request& req, std::string_view type) {
  bool any = false;
  std::string_view major = type.substr(0, type.find('/'));
  for (const auto& [k, v] : req.headers.fields()) {
    if (strcasecmp(k.c_str(), "Accept") != 0) continue;
    any = true;
    std::string_view list = v;
    while (!list.empty()) {
      auto comma = list.find(',');
      std::string_view item = strip_media_type_params(list.substr(0, comma));
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
      if (item == type || item == "*/*" || (item.ends_with("/*") && item.substr(0, item.size() - 2) == major))
        return true;
    }
  }
  return !any;
}

// Reads `n` and `last`; n is capped at the configured page size.
RegResult<std::pair<uint32_t, std::string>> page_args(const http::Request& req, uint32_t cap) {
  uint32_t n = cap;
  if (auto nv = req.query_param("n")) {
    auto parsed = parse_decimal(*nv);
    if (!parsed) return std::unexpected(RegistryError{OciCode::kPaginationNumberInvalid, "n must be a non-negative integer"});
    n = static_cast<uint32_t>(std::min<uint64_t>(*parsed, cap));
  }
  return std::pair{n, std::string(req.query_param("last").value_or(""))};
}

void set_next_link(http::Response& res, const std::string& path, uint32_t n, const std::string& last) {
  res.headers.set("Link", fmt::format("<{}?n={}&last={}>; rel=\"next\"", path, n, http::percent_encode(last)));
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

http::Response Api::handle_manifest(http::Request& req, const Route& route) {
  auto ref = parse_reference(route.argument);
  if (!ref) {
    bool digest_like = route.argument.find(':') != std::string::npos;
    return error_response({digest_like ? OciCode::kDigestInvalid : OciCode::kManifestInvalid,
                           digest_like ? ref.error().message : "invalid tag", route.argument.substr(0, 300)});
  }
  if (req.method == "PUT") {
    std::string body;
    if (auto s = http::read_body(req, registry_.limits().manifest_max_bytes, body); !s) {
      if (s.error().code == ErrorCode::kResourceExhausted)
        return error_response({OciCode::kSizeInvalid,
                               fmt::format("manifest exceeds {} bytes", registry_.limits().manifest_max_bytes), {}, 413});
      return error_response({OciCode::kManifestInvalid, s.error().message});
    }
    auto pushed = registry_.put_manifest(route.name, *ref, body, req.headers.get("Content-Type").value_or(""),
                                         actor_of(req));
    if (!pushed) return error_response(pushed.error());
    http::Response res;
    res.status = 201;
    res.headers.set("Location", fmt::format("/v2/{}/manifests/{}", route.name, pushed->digest.str()));
    res.headers.set("Docker-Content-Digest", pushed->digest.str());
    if (pushed->subject) res.headers.set("OCI-Subject", pushed->subject->str());
    return res;
  }
  if (req.method == "DELETE") {
    auto r = registry_.delete_manifest(route.name, *ref, actor_of(req));
    if (!r) return error_response(r.error());
    http::Response res;
    res.status = 202;
    return res;
  }
  if (req.method != "GET" && req.method != "HEAD") return method_not_allowed();
  auto rec = registry_.get_manifest(route.name, *ref);
  if (!rec) return error_response(rec.error());
  if (!accepts(req, rec->media_type))
    return error_response({OciCode::kManifestUnknown,
                           fmt::format("manifest is {}, which the Accept header does not admit", rec->media_type)});
  http::Response res;
  res.headers.set("Content-Type", rec->media_type);
  res.headers.set("Docker-Content-Digest", rec->digest.str());
  res.headers.set("ETag", fmt::format("\"{}\"", rec->digest.str()));
  if (rec->subject) res.headers.set("OCI-Subject", rec->subject->str());
  res.body = std::move(rec->body);
  if (req.method == "GET") {
    const auto* tag = std::get_if<std::string>(&*ref);
    record_pull(req, "manifest.pull", route.name, rec->digest, tag ? *tag : "");
  }
  return res;
}

http::Response Api::handle_tags(http::Request& req, const Route& route) {
  if (req.method != "GET" && req.method != "HEAD") return method_not_allowed();
  auto args = page_args(req, options_.page_size_max);
  if (!args) return error_response(args.error());
  auto [n, last] = *args;
  auto page = registry_.list_tags(route.name, last, n);
  if (!page) return error_response(page.error());
  json body = {{"name", route.name}, {"tags", page->names}};
  http::Response res = json_response(200, dump(body));
  if (page->more && !page->names.empty())
    set_next_link(res, fmt::format("/v2/{}/tags/list", route.name), n, page->names.back());
  return res;
}

http::Response Api::handle_catalog(http::Request& req) {
  if (req.method != "GET" && req.method != "HEAD") return method_not_allowed();
  auto args = page_args(req, options_.page_size_max);
  if (!args) return error_response(args.error());
  auto [n, last] = *args;
  auto page = registry_.list_repositories(last, n);
  if (!page) return error_response(page.error());
  json body = {{"repositories", page->names}};
  http::Response res = json_response(200, dump(body));
  if (page->more && !page->names.empty()) set_next_link(res, "/v2/_catalog", n, page->names.back());
  return res;
}

http::Response Api::handle_referrers(http::Request& req, const Route& route) {
  if (req.method != "GET") return method_not_allowed();
  auto digest = parse_digest_arg(route.argument);
  if (!digest) return error_response(digest.error());
  auto list = registry_.referrers(route.name, *digest);
  if (!list) return error_response(list.error());
  auto filter = req.query_param("artifactType");
  if (filter && filter->empty()) filter.reset();  // "?artifactType=" filters nothing
  json manifests = json::array();
  for (const auto& m : *list) {
    if (filter && m.artifact_type != *filter) continue;
    json d = {{"mediaType", m.media_type}, {"digest", m.digest.str()}, {"size", m.body.size()}};
    if (m.artifact_type) d["artifactType"] = *m.artifact_type;
    if (m.annotations_json) d["annotations"] = json::parse(*m.annotations_json, nullptr, false);
    manifests.push_back(std::move(d));
  }
  json body = {{"schemaVersion", 2}, {"mediaType", "application/vnd.oci.image.index.v1+json"},
               {"manifests", std::move(manifests)}};
  http::Response res = json_response(200, dump(body), "application/vnd.oci.image.index.v1+json");
  if (filter) res.headers.set("OCI-Filters-Applied", "artifactType");
  return res;
}

}  // namespace custody::registry
