// The credentials a request carries in its Authorization header.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace custody::auth {

struct Credentials {
  enum class Kind { kNone, kBasic, kBearer, kMalformed };
  Kind kind = Kind::kNone;
  std::string user;    // Basic
  std::string secret;  // Basic: password or secret; Bearer: the token
};

// Parses "Basic <base64 user:secret>" and "Bearer <token>" (scheme names
// case-insensitive, RFC 9110). Anything else present is kMalformed.
Credentials parse_authorization(std::optional<std::string_view> header);

}  // namespace custody::auth
