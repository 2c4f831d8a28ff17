// Parsing of the byte-range headers the registry accepts.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/error.h"

namespace custody::registry {

// An inclusive byte range [first, last], as HTTP writes them.
struct InclusiveRange {
  uint64_t first = 0;
  uint64_t last = 0;
  uint64_t length() const { return last - first + 1; }
};

// Content-Range of an upload PATCH: "<first>-<last>" (the OCI form) or
// "bytes <first>-<last>/<total|*>" (RFC 9110). kInvalidArgument if malformed.
Result<InclusiveRange> parse_upload_content_range(std::string_view value);

// A Range request header against a resource of `size` bytes. Only a single
// range is supported: "bytes=a-b", "bytes=a-", "bytes=-n".
// kInvalidArgument if malformed; kOutOfRange if unsatisfiable.
Result<InclusiveRange> parse_range_header(std::string_view value, uint64_t size);

// Parses a non-negative decimal with no sign, spaces or overflow.
std::optional<uint64_t> parse_decimal(std::string_view s);

}  // namespace custody::registry
