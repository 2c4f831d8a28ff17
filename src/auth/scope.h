// Scopes of the Docker Distribution token specification: what a client
// asks the token endpoint for, what a 401 challenge names, and what a
// token's "access" claim grants.
//
//   scope         := type ["(" class ")"] ":" name ":" action ["," action]*
//   type, class   := [a-z0-9]+
//   action        := [a-z]+ | "*"
//
//   repository:org/app:pull,push
//   repository(plugin):org/plugin:pull
//   registry:catalog:*
//
// Custody serves only its own names, so a repository name never carries a
// registry host ("localhost:5000/app" is refused), and only the resource
// types Custody knows ("repository", "registry") parse. Unknown actions
// ("pull,frobnicate") do parse: the authorizer simply never grants them, as
// the spec asks (asking for more grants less, it does not fail).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/error.h"

namespace custody::auth {

inline constexpr size_t kMaxScopeLength = 1024;  // one scope, as text
inline constexpr size_t kMaxScopes = 32;         // per request or token
inline constexpr size_t kMaxScopeActions = 16;
inline constexpr size_t kMaxActionLength = 32;
inline constexpr size_t kMaxResourceTypeLength = 32;

struct Scope {
  std::string type;                  // "repository" or "registry"
  std::string resource_class;        // "" or e.g. "plugin" in "repository(plugin)"
  std::string name;                  // a repository name, or "catalog"
  std::vector<std::string> actions;  // distinct, in the order first asked

  friend bool operator==(const Scope&, const Scope&) = default;
};

// One scope in its text form. kInvalidArgument, saying what is wrong, for
// anything outside the grammar above, over the caps, an invalid repository
// name, a registry scope other than "registry:catalog:...", or no actions.
// Repeated actions are kept once.
Result<Scope> parse_scope(std::string_view text);

// The text form; parse_scope(format_scope(s)) == s for every valid s.
std::string format_scope(const Scope& scope);

// The `scope` query parameters of one token request. Each parameter may
// hold several scopes separated by single spaces (the OAuth2 form); scopes
// naming the same resource are merged into one with the union of actions.
// Fails on the first invalid scope or past kMaxScopes.
Result<std::vector<Scope>> parse_scopes(std::span<const std::string> params);

// Space-separated, for the scope="..." of a WWW-Authenticate challenge.
std::string format_scopes(std::span<const Scope> scopes);

// The same rules as parse_scope, for a Scope built in code or read from a
// token. `allow_no_actions`: an access claim may list a resource with
// nothing granted; a request may not.
Status validate_scope(const Scope& scope, bool allow_no_actions = false);

// The "access" claim: [{"type":..., "class":... (only if set), "name":...,
// "actions":[...]}].
nlohmann::json access_to_json(std::span<const Scope> access);

// Reads an "access" claim back. Strict: an array of at most kMaxScopes
// objects holding exactly those members with those JSON types, each a
// valid scope (empty actions allowed). Does not merge entries.
Result<std::vector<Scope>> access_from_json(const nlohmann::json& claim);

}  // namespace custody::auth
