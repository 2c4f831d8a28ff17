// AccessControl: how the registry asks who sent a request and whether they
// may do what it asks. auth/ implements it with tokens and RBAC; OpenAccess
// lets everyone do everything (auth.mode = "open").
#pragma once

#include <expected>
#include <string>
#include <string_view>

#include "http/message.h"

namespace custody::registry {

// The actions a /v2/ request needs. The base endpoint needs kAny (valid
// credentials of any kind, an anonymous token included).
namespace action {
inline constexpr std::string_view kAny = "";
inline constexpr std::string_view kPull = "pull";
inline constexpr std::string_view kPush = "push";
inline constexpr std::string_view kDelete = "delete";
inline constexpr std::string_view kCatalog = "catalog";  // registry:catalog:*
}  // namespace action

class AccessControl {
 public:
  virtual ~AccessControl() = default;

  // Authenticates `req` and checks that it may do `act` on `repository`
  // ("" for the base endpoint and the catalog). On success sets
  // req.principal and req.auth_method; otherwise returns the response to
  // send (401 with a Bearer challenge, or 403 DENIED).
  virtual std::expected<void, http::Response> authorize(http::Request& req, const std::string& repository,
                                                        std::string_view act) = 0;

  // Whether the already authorized `req` may also do `act` on another
  // repository (the source of a cross-repository mount). Never a response:
  // a refused mount falls back to a normal upload.
  virtual bool also_allows(const http::Request& req, const std::string& repository, std::string_view act) = 0;
};

class OpenAccess final : public AccessControl {
 public:
  std::expected<void, http::Response> authorize(http::Request&, const std::string&, std::string_view) override {
    return {};
  }
  bool also_allows(const http::Request&, const std::string&, std::string_view) override { return true; }
};

}  // namespace custody::registry
