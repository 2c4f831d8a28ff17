// Fuzzes the token scope parsers: one scope, the scope parameters of a
// request (one per line), and the "access" claim as JSON. Nothing may
// crash, and whatever parses must format and parse back to itself.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "auth/scope.h"

using namespace custody::auth;

namespace {

void check_one(std::string_view in) {
  auto scope = parse_scope(in);
  if (!scope) return;
  if (!validate_scope(*scope)) __builtin_trap();
  std::string text = format_scope(*scope);
  if (text.size() > in.size()) __builtin_trap();  // formatting only drops repeated actions
  auto again = parse_scope(text);
  if (!again || !(*again == *scope)) __builtin_trap();
}

void check_params(std::string_view in) {
  std::vector<std::string> params;
  size_t start = 0;
  for (;;) {
    size_t nl = in.find('\n', start);
    params.emplace_back(in.substr(start, nl == std::string_view::npos ? in.npos : nl - start));
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  auto scopes = parse_scopes(params);
  if (!scopes) return;
  if (scopes->size() > kMaxScopes) __builtin_trap();
  std::vector<std::string> one{format_scopes(*scopes)};
  auto again = parse_scopes(one);
  if (!again || *again != *scopes) __builtin_trap();
}

void check_access(std::string_view in) {
  auto doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return;
  auto access = access_from_json(doc);
  if (!access) return;
  auto again = access_from_json(access_to_json(*access));
  if (!again || *again != *access) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  check_one(in);
  check_params(in);
  check_access(in);
  return 0;
}
