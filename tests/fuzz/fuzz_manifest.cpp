// Fuzzes manifest parsing and validation: any bytes, any Content-Type.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "registry/manifest.h"

namespace mt = custody::registry::media_type;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static constexpr std::string_view kTypes[] = {"", mt::kOciManifest, mt::kOciIndex, mt::kDockerManifest,
                                                mt::kDockerManifestList, mt::kDockerSchema1Signed,
                                                "application/json; charset=utf-8"};
  std::string_view type = kTypes[data[0] % std::size(kTypes)];
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  auto m = custody::registry::parse_manifest(body, type);
  if (m) {
    // Invariants of a successful parse.
    if (m->is_index != custody::registry::is_index_type(m->media_type)) __builtin_trap();
    if (!m->is_index && !m->config) __builtin_trap();
  }
  return 0;
}
