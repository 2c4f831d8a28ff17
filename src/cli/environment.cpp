#include "cli/environment.h"

#include <cstdlib>

#include "audit/encoding.h"

namespace custody::cli {

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

std::string registry_url(std::string value, bool has_ca) {
  while (value.ends_with('/')) value.pop_back();
  if (!value.empty() && !value.starts_with("http://") && !value.starts_with("https://"))
    value = (has_ca ? "https://" : "http://") + value;
  return value;
}

std::string basic_authorization(const std::string& user, const std::string& secret) {
  std::string pair = user + ":" + secret;
  return "Basic " + audit::base64_encode(audit::bytes_of(pair));
}

}  // namespace custody::cli
