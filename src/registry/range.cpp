#include "registry/range.h"

#include <charconv>

namespace custody::registry {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<uint64_t> parse_decimal(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

Result<InclusiveRange> parse_upload_content_range(std::string_view value) {
  std::string_view v = trim(value);
  std::optional<uint64_t> total;
  if (v.starts_with("bytes ")) {
    v.remove_prefix(6);
    auto slash = v.find('/');
    if (slash == std::string_view::npos) return fail(ErrorCode::kInvalidArgument, "malformed Content-Range");
    std::string_view total_text = v.substr(slash + 1);
    total = parse_decimal(total_text);
    if (total_text != "*" && !total) return fail(ErrorCode::kInvalidArgument, "malformed Content-Range");
    v = v.substr(0, slash);
  }
  auto dash = v.find('-');
  if (dash == std::string_view::npos) return fail(ErrorCode::kInvalidArgument, "malformed Content-Range");
  auto first = parse_decimal(v.substr(0, dash));
  auto last = parse_decimal(v.substr(dash + 1));
  // last == UINT64_MAX would make length() overflow to 0; a range must end
  // inside the complete length it announces (RFC 9110 14.4).
  if (!first || !last || *last < *first || *last == UINT64_MAX || (total && *last >= *total))
    return fail(ErrorCode::kInvalidArgument, "malformed Content-Range");
  return InclusiveRange{*first, *last};
}

Result<InclusiveRange> parse_range_header(std::string_view value, uint64_t size) {
  std::string_view v = trim(value);
  if (!v.starts_with("bytes=")) return fail(ErrorCode::kInvalidArgument, "Range must use the bytes unit");
  v.remove_prefix(6);
  if (v.find(',') != std::string_view::npos)
    return fail(ErrorCode::kInvalidArgument, "multiple ranges are not supported");
  auto dash = v.find('-');
  if (dash == std::string_view::npos) return fail(ErrorCode::kInvalidArgument, "malformed Range");
  std::string_view a = trim(v.substr(0, dash)), b = trim(v.substr(dash + 1));
  if (a.empty()) {  // suffix: the last n bytes
    auto n = parse_decimal(b);
    if (!n) return fail(ErrorCode::kInvalidArgument, "malformed Range");
    if (*n == 0 || size == 0) return fail(ErrorCode::kOutOfRange, "range not satisfiable");
    uint64_t len = std::min(*n, size);
    return InclusiveRange{size - len, size - 1};
  }
  auto first = parse_decimal(a);
  if (!first) return fail(ErrorCode::kInvalidArgument, "malformed Range");
  uint64_t last = size == 0 ? 0 : size - 1;
  if (!b.empty()) {
    auto l = parse_decimal(b);
    if (!l || *l < *first) return fail(ErrorCode::kInvalidArgument, "malformed Range");
    last = std::min(*l, last);
  }
  if (*first >= size) return fail(ErrorCode::kOutOfRange, "range not satisfiable");
  return InclusiveRange{*first, last};
}

}  // namespace custody::registry
