#include "auth/scope.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>

#include "registry/names.h"

namespace custody::auth {
namespace {

using json = nlohmann::json;

std::unexpected<Error> invalid(std::string message) {
  return fail(ErrorCode::kInvalidArgument, std::move(message));
}

bool is_resource_word(std::string_view s) {
  return !s.empty() && s.size() <= kMaxResourceTypeLength &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); });
}

bool is_action(std::string_view a) {
  if (a == "*") return true;
  return !a.empty() && a.size() <= kMaxActionLength &&
         std::all_of(a.begin(), a.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

Status validate_name(const Scope& scope) {
  if (scope.type == "repository") {
    // The spec lets a name start with "host:port/"; Custody only serves its
    // own repositories, so a host in the name is a client talking to the
    // wrong registry, not something to strip and accept.
    if (scope.name.find(':') != std::string::npos)
      return invalid("a repository scope must not name a registry host");
    if (!registry::is_valid_repository_name(scope.name)) return invalid("invalid repository name in scope");
    return {};
  }
  if (scope.type == "registry") {
    if (!scope.resource_class.empty()) return invalid("a registry scope takes no resource class");
    if (scope.name != "catalog") return invalid("the only registry scope is registry:catalog");
    return {};
  }
  return invalid("unsupported resource type in scope (expected repository or registry)");
}

// "type" or "type(class)".
Status parse_resource_type(std::string_view text, Scope& out) {
  size_t open = text.find('(');
  if (open == std::string_view::npos) {
    out.type = text;
    return {};
  }
  if (!text.ends_with(')')) return invalid("scope resource class must be closed by ')'");
  out.type = text.substr(0, open);
  out.resource_class = text.substr(open + 1, text.size() - open - 2);
  if (out.resource_class.empty()) return invalid("empty resource class in scope");
  return {};
}

void add_action(std::vector<std::string>& actions, std::string_view action) {
  if (std::find(actions.begin(), actions.end(), action) == actions.end()) actions.emplace_back(action);
}

Result<std::string> string_member(const json& entry, const char* key, bool required) {
  auto it = entry.find(key);
  if (it == entry.end()) {
    if (required) return invalid(fmt::format("access entry has no \"{}\"", key));
    return std::string();
  }
  if (!it->is_string()) return invalid(fmt::format("access entry \"{}\" must be a string", key));
  return it->get<std::string>();
}

Result<Scope> access_entry(const json& entry) {
  if (!entry.is_object()) return invalid("access entries must be objects");
  for (const auto& [key, value] : entry.items()) {
    if (key != "type" && key != "class" && key != "name" && key != "actions")
      return invalid("unknown member in access entry");
  }
  Scope scope;
  auto type = string_member(entry, "type", true);
  if (!type) return std::unexpected(type.error());
  auto cls = string_member(entry, "class", false);
  if (!cls) return std::unexpected(cls.error());
  auto name = string_member(entry, "name", true);
  if (!name) return std::unexpected(name.error());
  scope.type = std::move(*type);
  scope.resource_class = std::move(*cls);
  scope.name = std::move(*name);
  auto actions = entry.find("actions");
  if (actions == entry.end() || !actions->is_array()) return invalid("access entry \"actions\" must be an array");
  if (actions->size() > kMaxScopeActions) return invalid("too many actions in access entry");
  for (const auto& a : *actions) {
    if (!a.is_string()) return invalid("access entry actions must be strings");
    scope.actions.push_back(a.get<std::string>());
  }
  if (auto s = validate_scope(scope, /*allow_no_actions=*/true); !s) return std::unexpected(s.error());
  return scope;
}

}  // namespace

Status validate_scope(const Scope& scope, bool allow_no_actions) {
  if (!is_resource_word(scope.type)) return invalid("scope resource type must match [a-z0-9]+");
  if (!scope.resource_class.empty() && !is_resource_word(scope.resource_class))
    return invalid("scope resource class must match [a-z0-9]+");
  if (auto s = validate_name(scope); !s) return s;
  if (scope.actions.empty() && !allow_no_actions) return invalid("scope names no actions");
  if (scope.actions.size() > kMaxScopeActions) return invalid("too many actions in scope");
  for (size_t i = 0; i < scope.actions.size(); ++i) {
    if (!is_action(scope.actions[i])) return invalid("scope actions must match [a-z]+ or be \"*\"");
    if (std::find(scope.actions.begin(), scope.actions.begin() + static_cast<long>(i), scope.actions[i]) !=
        scope.actions.begin() + static_cast<long>(i))
      return invalid("repeated action in scope");
  }
  return {};
}

Result<Scope> parse_scope(std::string_view text) {
  if (text.empty()) return invalid("empty scope");
  if (text.size() > kMaxScopeLength) return invalid("scope is too long");
  size_t first = text.find(':');
  size_t last = text.rfind(':');
  if (first == std::string_view::npos || first == last)
    return invalid("scope must have the form type:name:actions");
  Scope scope;
  if (auto s = parse_resource_type(text.substr(0, first), scope); !s) return std::unexpected(s.error());
  scope.name = text.substr(first + 1, last - first - 1);
  std::string_view actions = text.substr(last + 1);
  size_t count = 0;
  while (!actions.empty()) {
    size_t comma = actions.find(',');
    std::string_view action = actions.substr(0, comma);
    if (action.empty()) return invalid("empty action in scope");
    // Bounds the work before deduplication (which is quadratic).
    if (++count > kMaxScopeActions) return invalid("too many actions in scope");
    add_action(scope.actions, action);
    if (comma == std::string_view::npos) break;
    actions.remove_prefix(comma + 1);
    if (actions.empty()) return invalid("empty action in scope");
  }
  if (auto s = validate_scope(scope); !s) return std::unexpected(s.error());
  return scope;
}

std::string format_scope(const Scope& scope) {
  std::string out = scope.type;
  if (!scope.resource_class.empty()) out += fmt::format("({})", scope.resource_class);
  out += fmt::format(":{}:{}", scope.name, fmt::join(scope.actions, ","));
  return out;
}

Result<std::vector<Scope>> parse_scopes(std::span<const std::string> params) {
  std::vector<Scope> out;
  size_t seen = 0;
  for (std::string_view param : params) {
    while (!param.empty()) {
      size_t space = param.find(' ');
      std::string_view text = param.substr(0, space);
      param = space == std::string_view::npos ? std::string_view() : param.substr(space + 1);
      if (text.empty()) continue;
      if (++seen > kMaxScopes) return invalid("too many scopes in one request");
      auto scope = parse_scope(text);
      if (!scope) return std::unexpected(scope.error());
      auto same = std::find_if(out.begin(), out.end(), [&](const Scope& s) {
        return s.type == scope->type && s.resource_class == scope->resource_class && s.name == scope->name;
      });
      if (same == out.end()) {
        out.push_back(std::move(*scope));
        continue;
      }
      for (const auto& a : scope->actions) add_action(same->actions, a);
      if (same->actions.size() > kMaxScopeActions) return invalid("too many actions in scope");
    }
  }
  return out;
}

std::string format_scopes(std::span<const Scope> scopes) {
  std::string out;
  for (const auto& s : scopes) {
    if (!out.empty()) out += ' ';
    out += format_scope(s);
  }
  return out;
}

json access_to_json(std::span<const Scope> access) {
  json out = json::array();
  for (const auto& s : access) {
    json entry = {{"type", s.type}, {"name", s.name}, {"actions", s.actions}};
    if (!s.resource_class.empty()) entry["class"] = s.resource_class;
    out.push_back(std::move(entry));
  }
  return out;
}

Result<std::vector<Scope>> access_from_json(const json& claim) {
  if (!claim.is_array()) return invalid("the access claim must be an array");
  if (claim.size() > kMaxScopes) return invalid("too many entries in the access claim");
  std::vector<Scope> out;
  for (const auto& entry : claim) {
    auto scope = access_entry(entry);
    if (!scope) return std::unexpected(scope.error());
    out.push_back(std::move(*scope));
  }
  return out;
}

}  // namespace custody::auth
