// Blob and upload endpoints.
#include <fmt/format.h>

#include "registry/api.h"

namespace custody::registry {
namespace {

http::Response method_not_allowed() { return error_response({OciCode::kUnsupported, "method not allowed"}); }

// Reads Content-Range / Content-Length of a chunk.
RegResult<ChunkHeader> chunk_header(const http::Request& req) {
  ChunkHeader h;
  if (req.body) h.content_length = req.body->content_length();
  if (auto cr = req.headers.get("Content-Range")) {
    auto r = parse_upload_content_range(*cr);
    if (!r) return std::unexpected(RegistryError{OciCode::kRangeInvalid, r.error().message});
    h.content_range = *r;
  }
  return h;
}

http::Response upload_accepted(int status, const std::string& repo, const std::string& id, uint64_t size) {
  http::Response r;
  r.status = status;
  r.headers.set("Location", upload_location(repo, id));
  r.headers.set("Range", range_value(size));
  r.headers.set("Docker-Upload-UUID", id);
  return r;
}

http::Response blob_created(const std::string& repo, const Digest& digest) {
  http::Response r;
  r.status = 201;
  r.headers.set("Location", fmt::format("/v2/{}/blobs/{}", repo, digest.str()));
  r.headers.set("Docker-Content-Digest", digest.str());
  return r;
}

// A 416 for an out-of-order chunk tells the client where the session is.
http::Response upload_error(const RegistryError& e, const std::string& repo, const std::string& id) {
  http::Response r = error_response(e);
  if (e.upload_size) {
    r.headers.set("Location", upload_location(repo, id));
    r.headers.set("Range", range_value(*e.upload_size));
    r.headers.set("Docker-Upload-UUID", id);
  }
  return r;
}

}  // namespace

http::Response Api::handle_blob(http::Request& req, const Route& route) {
  auto digest = parse_digest_arg(route.argument);
  if (!digest) return error_response(digest.error());
  if (req.method == "DELETE") {
    auto r = registry_.delete_blob(route.name, *digest, actor_of(req));
    if (!r) return error_response(r.error());
    http::Response res;
    res.status = 202;
    return res;
  }
  if (req.method != "GET" && req.method != "HEAD") return method_not_allowed();
  auto size = registry_.blob_size(route.name, *digest);
  if (!size) return error_response(size.error());
  http::Response res;
  res.headers.set("Content-Type", "application/octet-stream");
  res.headers.set("Docker-Content-Digest", digest->str());
  res.headers.set("ETag", fmt::format("\"{}\"", digest->str()));
  res.headers.set("Accept-Ranges", "bytes");
  res.headers.set("Cache-Control", "max-age=31536000");
  storage::ByteRange range{0, *size};
  if (auto rh = req.headers.get("Range")) {
    // A Range this server does not understand (another unit, several
    // ranges, bad syntax) is ignored as RFC 9110 14.2 asks: 200, whole blob.
    auto r = parse_range_header(*rh, *size);
    if (!r && r.error().code == ErrorCode::kOutOfRange) {
      http::Response bad = error_response({OciCode::kRangeInvalid, r.error().message, std::string(*rh)});
      bad.headers.set("Content-Range", fmt::format("bytes */{}", *size));
      return bad;
    }
    if (r) {
      range = {r->first, r->length()};
      res.status = 206;
      res.headers.set("Content-Range", fmt::format("bytes {}-{}/{}", r->first, r->last, *size));
    }
  }
  if (req.method == "HEAD") {
    res.head_length = range.length;
    return res;
  }
  auto src = registry_.open_blob(route.name, *digest, range);
  if (!src) return error_response(src.error());
  res.stream = std::move(*src);
  record_pull(req, "blob.pull", route.name, *digest, "");
  return res;
}

http::Response Api::handle_upload_start(http::Request& req, const Route& route) {
  if (req.method != "POST") return method_not_allowed();
  Actor actor = actor_of(req);
  if (auto mount = req.query_param("mount")) {
    auto digest = parse_digest_arg(*mount);
    if (!digest) return error_response(digest.error());
    auto from = req.query_param("from");
    if (from && is_valid_repository_name(*from) && access_.also_allows(req, std::string(*from), action::kPull)) {
      auto mounted = registry_.mount_blob(route.name, std::string(*from), *digest, actor);
      if (!mounted) return error_response(mounted.error());
      if (*mounted) return blob_created(route.name, *digest);
    }
    // Not mountable: fall through to a normal upload session (202).
  } else if (auto d = req.query_param("digest")) {
    auto digest = parse_digest_arg(*d);
    if (!digest) return error_response(digest.error());
    auto chunk = chunk_header(req);
    if (!chunk) return error_response(chunk.error());
    auto r = registry_.put_blob(route.name, *digest, *chunk, body_reader(req), actor);
    if (!r) return error_response(r.error());
    return blob_created(route.name, *digest);
  }
  auto id = registry_.start_upload(route.name, actor.name);
  if (!id) return error_response(id.error());
  return upload_accepted(202, route.name, *id, 0);
}

http::Response Api::handle_upload(http::Request& req, const Route& route) {
  const std::string& id = route.argument;
  if (req.method == "GET") {
    auto size = registry_.upload_size(route.name, id, req.principal);
    if (!size) return upload_error(size.error(), route.name, id);
    return upload_accepted(204, route.name, id, *size);
  }
  if (req.method == "DELETE") {
    auto r = registry_.cancel_upload(route.name, id, req.principal);
    if (!r) return upload_error(r.error(), route.name, id);
    http::Response res;
    res.status = 204;
    return res;
  }
  if (req.method != "PATCH" && req.method != "PUT") return method_not_allowed();
  auto chunk = chunk_header(req);
  if (!chunk) return upload_error(chunk.error(), route.name, id);
  if (req.method == "PATCH") {
    auto size = registry_.append_chunk(route.name, id, req.principal, *chunk, body_reader(req));
    if (!size) return upload_error(size.error(), route.name, id);
    return upload_accepted(202, route.name, id, *size);
  }
  auto d = req.query_param("digest");
  if (!d) return error_response({OciCode::kDigestInvalid, "PUT needs a ?digest= parameter"});
  auto digest = parse_digest_arg(*d);
  if (!digest) return error_response(digest.error());
  auto r = registry_.finish_upload(route.name, id, *digest, *chunk, body_reader(req), actor_of(req));
  if (!r) return upload_error(r.error(), route.name, id);
  return blob_created(route.name, *digest);
}

}  // namespace custody::registry
