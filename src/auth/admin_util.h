// Helpers shared by the admin API's files. Private to auth/.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "http/message.h"

namespace custody::auth::admin {

using json = nlohmann::json;

http::Response reply(int status, const json& body);
http::Response no_content();
// {"error":{"code":…,"message":…}}
http::Response api_error(int status, std::string_view code, std::string_view message);
// The reply for a store or validation error.
http::Response error_reply(const Error& e);
http::Response forbidden(std::string_view message = "you may not do this here");
http::Response not_found(std::string_view what = "no such resource");
http::Response method_not_allowed();

// The request body as a JSON object holding only `allowed` keys (at most
// 64 KiB); kInvalidArgument, saying which key, otherwise.
Result<json> read_object(http::Request& req, std::initializer_list<std::string_view> allowed);

// Typed members: absent gives nullopt; the wrong type is kInvalidArgument.
Result<std::optional<bool>> bool_field(const json& body, const char* key);
Result<std::optional<std::string>> string_field(const json& body, const char* key);

// `n` and `last` of a listing; n is capped at `max`.
struct PageArgs {
  uint32_t n = 100;
  std::string last;
};
Result<PageArgs> page_args(const http::Request& req, uint32_t max);
// One page of `items` (sorted by `key_of`, ascending): those after
// page.last, at most page.n; `more` says whether others follow.
struct Slice {
  size_t begin = 0, end = 0;
  bool more = false;
};
Slice slice_page(const std::vector<std::string>& sorted_keys, const PageArgs& page);

// Adds `Link: <path?n=N&last=X>; rel="next"` when more names follow.
void add_next_link(http::Response& r, std::string_view path, const PageArgs& page, bool more,
                   const std::string& last_name);

}  // namespace custody::auth::admin
