#include "auth/admin_util.h"

#include <fmt/format.h>

#include <algorithm>

namespace custody::auth::admin {

http::Response reply(int status, const json& body) {
  http::Response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  r.headers.set("Content-Type", "application/json");
  r.headers.set("Cache-Control", "no-store");
  r.route = "admin_api";
  return r;
}

http::Response no_content() {
  http::Response r;
  r.status = 204;
  r.route = "admin_api";
  return r;
}

http::Response api_error(int status, std::string_view code, std::string_view message) {
  return reply(status, json{{"error", {{"code", code}, {"message", message}}}});
}

http::Response error_reply(const Error& e) {
  switch (e.code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kOutOfRange: return api_error(400, "INVALID", e.message);
    case ErrorCode::kNotFound: return api_error(404, "NOT_FOUND", e.message);
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kFailedPrecondition: return api_error(409, "CONFLICT", e.message);
    case ErrorCode::kUnauthenticated: return api_error(401, "UNAUTHORIZED", e.message);
    case ErrorCode::kPermissionDenied: return api_error(403, "DENIED", e.message);
    case ErrorCode::kResourceExhausted: return api_error(429, "TOO_MANY_REQUESTS", e.message);
    default: return api_error(500, "INTERNAL", "internal error");
  }
}

http::Response forbidden(std::string_view message) { return api_error(403, "DENIED", message); }
http::Response not_found(std::string_view what) { return api_error(404, "NOT_FOUND", what); }
http::Response method_not_allowed() { return api_error(405, "METHOD_NOT_ALLOWED", "method not allowed here"); }

Result<json> read_object(http::Request& req, std::initializer_list<std::string_view> allowed) {
  std::string text;
  if (auto s = http::read_body(req, 64 * 1024, text); !s)
    return fail(ErrorCode::kInvalidArgument, "body too large (64 KiB at most)");
  json body = json::parse(text, nullptr, false);
  if (body.is_discarded() || !body.is_object())
    return fail(ErrorCode::kInvalidArgument, "the body must be a JSON object");
  for (const auto& [key, value] : body.items()) {
    bool known = false;
    for (auto a : allowed) known = known || key == a;
    if (!known) return fail(ErrorCode::kInvalidArgument, fmt::format("unknown field \"{}\"", key.substr(0, 64)));
  }
  return body;
}

Result<std::optional<bool>> bool_field(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end()) return std::optional<bool>{};
  if (!it->is_boolean()) return fail(ErrorCode::kInvalidArgument, fmt::format("\"{}\" must be true or false", key));
  return std::optional<bool>{it->get<bool>()};
}

Result<std::optional<std::string>> string_field(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end()) return std::optional<std::string>{};
  if (!it->is_string()) return fail(ErrorCode::kInvalidArgument, fmt::format("\"{}\" must be a string", key));
  return std::optional<std::string>{it->get<std::string>()};
}

Result<PageArgs> page_args(const http::Request& req, uint32_t max) {
  PageArgs p;
  if (auto n = req.query_param("n")) {
    if (n->empty() || n->size() > 9 || n->find_first_not_of("0123456789") != std::string_view::npos)
      return fail(ErrorCode::kInvalidArgument, "n must be a positive integer");
    p.n = static_cast<uint32_t>(std::stoul(std::string(*n)));
    if (p.n == 0) return fail(ErrorCode::kInvalidArgument, "n must be a positive integer");
  }
  p.n = std::min(p.n, max);
  if (auto last = req.query_param("last")) p.last = std::string(*last);
  return p;
}

Slice slice_page(const std::vector<std::string>& sorted_keys, const PageArgs& page) {
  Slice s;
  s.begin = std::upper_bound(sorted_keys.begin(), sorted_keys.end(), page.last) - sorted_keys.begin();
  if (page.last.empty()) s.begin = 0;
  s.end = std::min(sorted_keys.size(), s.begin + page.n);
  s.more = s.end < sorted_keys.size();
  return s;
}

void add_next_link(http::Response& r, std::string_view path, const PageArgs& page, bool more,
                   const std::string& last_name) {
  if (!more || last_name.empty()) return;
  r.headers.set("Link", fmt::format("<{}?n={}&last={}>; rel=\"next\"", path, page.n, http::percent_encode(last_name)));
}

}  // namespace custody::auth::admin
