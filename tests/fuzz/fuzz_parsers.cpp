// Fuzzes the small parsers of outside input: digests, repository names,
// references, byte ranges, request paths, percent-encoding and queries.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/digest.h"
#include "http/message.h"
#include "registry/names.h"
#include "registry/range.h"
#include "registry/routes.h"

using namespace custody;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto d = Digest::parse(in)) {
    if (d->str() != in) __builtin_trap();  // parsing never rewrites
  }
  bool valid_name = registry::is_valid_repository_name(in);
  if (valid_name && (in.find("..") != std::string_view::npos || in.starts_with('/') || in.size() > 255))
    __builtin_trap();
  (void)registry::parse_reference(in);
  if (auto r = registry::parse_upload_content_range(in)) {
    if (r->last < r->first) __builtin_trap();
  }
  uint64_t size_hint = size * 7919;
  if (auto r = registry::parse_range_header(in, size_hint)) {
    if (r->first > r->last || r->last >= size_hint) __builtin_trap();
  }
  auto route = registry::match_route(in);
  if (route.endpoint != registry::Endpoint::kNotFound && !in.starts_with("/v2")) __builtin_trap();
  if (route.argument.find('/') != std::string::npos) __builtin_trap();
  if (auto s = http::percent_decode(in)) {
    if (s->find('\0') != std::string::npos) __builtin_trap();
  }
  (void)http::parse_query(in);
  return 0;
}
