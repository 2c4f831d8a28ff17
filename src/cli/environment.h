// What the client commands take from the environment: the registry, the
// account and its secret, and a client bundle's files (env.sh exports
// them). Private to cli/.
#pragma once

#include <string>

namespace custody::cli {

// The variable's value, or `fallback` when it is unset or empty.
std::string env_or(const char* name, std::string fallback = "");

// A registry as a URL: "host:port" (as image references spell it) becomes
// https when a CA is given, else http; trailing slashes go.
std::string registry_url(std::string value, bool has_ca);

// "Basic <base64 user:secret>".
std::string basic_authorization(const std::string& user, const std::string& secret);

}  // namespace custody::cli
