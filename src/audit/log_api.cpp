#include "audit/log_api.h"

#include <charconv>

#include <nlohmann/json.hpp>

#include "audit/encoding.h"

namespace custody::audit {
namespace {

using json = nlohmann::json;

http::Response reply(int status, std::string body, std::string type) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers.set("Content-Type", std::move(type));
  r.route = "log";
  return r;
}

http::Response error(int status, std::string_view message) {
  return reply(status, json{{"error", message}}.dump(), "application/json");
}

int status_of(const Error& e) {
  switch (e.code) {
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kOutOfRange:
    case ErrorCode::kInvalidArgument: return 400;
    case ErrorCode::kFailedPrecondition:
    case ErrorCode::kDataLoss: return 409;
    default: return 500;
  }
}

std::optional<int64_t> int_param(const http::Request& req, std::string_view key) {
  auto v = req.query_param(key);
  if (!v || v->empty() || v->size() > 19) return std::nullopt;
  int64_t out = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || p != v->data() + v->size() || out < 0) return std::nullopt;
  return out;
}

json hashes_json(const std::vector<Hash>& hashes) {
  json out = json::array();
  for (const auto& h : hashes) out.push_back(base64_encode(h.bytes()));
  return out;
}

}  // namespace

http::Response LogApi::handle(http::Request& req) {
  std::string_view path = req.path;
  if (req.method == "POST" && path == "/log/v1/cosign") return cosign(req);
  if (req.method != "GET" && req.method != "HEAD") return error(405, "method not allowed");
  if (path == "/log/checkpoint") return checkpoint(false);
  if (path == "/log/v1/checkpoint/latest") return checkpoint(true);
  if (path == "/log/v1/key") return reply(200, log_.verifier_key() + "\n", "text/plain; charset=utf-8");
  if (path == "/log/v1/proof/inclusion") return inclusion(req);
  if (path == "/log/v1/proof/consistency") return consistency(req);
  if (path == "/log/v1/trace") return trace(req);
  if (path.starts_with("/log/tile/")) return tile(path.substr(5));
  return error(404, "no such log endpoint");
}

http::Response LogApi::checkpoint(bool latest) {
  auto c = latest ? log_.latest_checkpoint() : log_.published_checkpoint();
  if (!c) return error(status_of(c.error()), c.error().message);
  http::Response r = reply(200, c->note, "text/plain; charset=utf-8");
  r.headers.set("Cache-Control", "no-cache");
  return r;
}

http::Response LogApi::tile(std::string_view path) {
  auto parsed = parse_tile_path(path);
  if (!parsed) return error(400, parsed.error().message);
  auto data = log_.tile(*parsed);
  if (!data) return error(status_of(data.error()), data.error().message);
  http::Response r = reply(200, std::move(*data), "application/octet-stream");
  // Full tiles never change; partial ones are replaced as the log grows.
  r.headers.set("Cache-Control", parsed->tile.is_partial() ? "no-cache" : "public, max-age=31536000, immutable");
  return r;
}

http::Response LogApi::inclusion(const http::Request& req) {
  auto seq = int_param(req, "seq");
  auto size = int_param(req, "size");
  if (!seq || !size) return error(400, "seq and size must be non-negative integers");
  auto proof = log_.inclusion_proof(*seq, *size);
  if (!proof) return error(status_of(proof.error()), proof.error().message);
  json body = {{"seq", *seq}, {"leaf_index", *seq - 1}, {"size", *size}, {"proof", hashes_json(*proof)}};
  return reply(200, body.dump(), "application/json");
}

http::Response LogApi::consistency(const http::Request& req) {
  auto old_size = int_param(req, "old");
  auto new_size = int_param(req, "new");
  if (!old_size || !new_size) return error(400, "old and new must be non-negative integers");
  auto proof = log_.consistency_proof(*old_size, *new_size);
  if (!proof) return error(status_of(proof.error()), proof.error().message);
  json body = {{"old", *old_size}, {"new", *new_size}, {"proof", hashes_json(*proof)}};
  return reply(200, body.dump(), "application/json");
}

http::Response LogApi::trace(const http::Request& req) {
  auto digest = req.query_param("digest");
  auto size = int_param(req, "size");
  if (!digest || digest->empty() || !size) return error(400, "digest and size are required");
  auto events = log_.trace(std::string(*digest), *size);
  if (!events) return error(status_of(events.error()), events.error().message);
  json list = json::array();
  for (const auto& t : *events)
    list.push_back({{"seq", t.event.seq}, {"entry", t.entry}, {"proof", hashes_json(t.proof)}});
  json body = {{"digest", *digest}, {"size", *size}, {"events", std::move(list)}};
  return reply(200, body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

http::Response LogApi::cosign(http::Request& req) {
  std::string note;
  if (auto s = http::read_body(req, kMaxNoteSize, note); !s) return error(413, s.error().message);
  if (auto s = log_.add_cosignature(note, req.remote_address); !s) return error(status_of(s.error()), s.error().message);
  return reply(200, "{}", "application/json");
}

}  // namespace custody::audit
