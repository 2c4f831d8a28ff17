// Wall-clock helpers. Times are stored as Unix milliseconds and shown as
// RFC 3339 UTC.
#pragma once

#include <cstdint>
#include <string>

namespace custody {

int64_t now_unix_ms();
std::string format_rfc3339(int64_t unix_ms);  // "2026-12-03T19:48:48.123Z"

}  // namespace custody
