// The OCI Distribution grammar for repository names, tags and references.
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "common/digest.h"
#include "common/error.h"

namespace custody::registry {

inline constexpr size_t kMaxRepositoryNameLength = 255;
inline constexpr size_t kMaxTagLength = 128;

// [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
// and at most 255 characters. Rejects "..", leading or trailing "/", "//".
bool is_valid_repository_name(std::string_view name);

// [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
bool is_valid_tag(std::string_view tag);

// A manifest reference: a tag or a digest.
using Reference = std::variant<std::string, Digest>;

// Parses the <reference> of /v2/<name>/manifests/<reference>. Anything
// containing ':' must be a valid digest; otherwise a valid tag.
Result<Reference> parse_reference(std::string_view text);

}  // namespace custody::registry
