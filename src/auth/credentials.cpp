#include "auth/credentials.h"

#include <strings.h>

#include "audit/encoding.h"

namespace custody::auth {
namespace {

bool scheme_is(std::string_view header, std::string_view scheme) {
  return header.size() > scheme.size() && header[scheme.size()] == ' ' &&
         strncasecmp(header.data(), scheme.data(), scheme.size()) == 0;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

}  // namespace

Credentials parse_authorization(std::optional<std::string_view> header) {
  Credentials c;
  if (!header) return c;
  c.kind = Credentials::Kind::kMalformed;
  if (header->size() > 16 * 1024) return c;
  if (scheme_is(*header, "Bearer")) {
    auto token = trim(header->substr(7));
    if (token.empty()) return c;
    c.kind = Credentials::Kind::kBearer;
    c.secret = std::string(token);
    return c;
  }
  if (!scheme_is(*header, "Basic")) return c;
  auto decoded = audit::base64_decode(trim(header->substr(6)));
  if (!decoded) return c;
  std::string text(decoded->begin(), decoded->end());
  auto colon = text.find(':');
  if (colon == std::string::npos || text.find('\0') != std::string::npos) return c;
  c.kind = Credentials::Kind::kBasic;
  c.user = text.substr(0, colon);
  c.secret = text.substr(colon + 1);
  return c;
}

}  // namespace custody::auth
