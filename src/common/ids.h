// Random identifiers (upload sessions, request ids), from the OS CSPRNG.
#pragma once

#include <string>
#include <string_view>

namespace custody {

// A random RFC 4122 version-4 UUID in its canonical lowercase form.
std::string random_uuid();

// True if `id` has exactly the canonical UUID shape; used to refuse upload
// ids that could name anything other than a session (e.g. "../x").
bool is_canonical_uuid(std::string_view id);

}  // namespace custody
