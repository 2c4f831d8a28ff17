#include "registry/manifest.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace custody::registry {
namespace {

using json = nlohmann::json;

// Bounds nesting before handing the body to the JSON parser.
bool depth_within(std::string_view body, size_t max_depth) {
  size_t depth = 0;
  bool in_string = false, escaped = false;
  for (char c : body) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return false;
    } else if (c == '}' || c == ']') {
      if (depth > 0) --depth;
    }
  }
  return true;
}

std::unexpected<Error> invalid(std::string msg) { return fail(ErrorCode::kInvalidArgument, std::move(msg)); }

Result<std::optional<std::string>> optional_string(const json& obj, const char* key, std::string_view where) {
  auto it = obj.find(key);
  if (it == obj.end()) return std::optional<std::string>();
  if (!it->is_string()) return invalid(fmt::format("{}.{} must be a string", where, key));
  return std::optional(it->get<std::string>());
}

Status check_annotations(const json& obj, std::string_view where) {
  auto it = obj.find("annotations");
  if (it == obj.end() || it->is_null()) return {};
  if (!it->is_object()) return invalid(fmt::format("{}.annotations must be an object", where));
  for (const auto& [k, v] : it->items())
    if (!v.is_string()) return invalid(fmt::format("{}.annotations[{}] must be a string", where, k));
  return {};
}

Result<Descriptor> parse_descriptor(const json& j, std::string_view where) {
  if (!j.is_object()) return invalid(fmt::format("{} must be a descriptor object", where));
  Descriptor d;
  auto mt = j.find("mediaType");
  if (mt == j.end() || !mt->is_string() || mt->get_ref<const std::string&>().empty())
    return invalid(fmt::format("{}.mediaType is required", where));
  d.media_type = mt->get<std::string>();
  auto dg = j.find("digest");
  if (dg == j.end() || !dg->is_string()) return invalid(fmt::format("{}.digest is required", where));
  auto digest = Digest::parse(dg->get_ref<const std::string&>());
  if (!digest) return invalid(fmt::format("{}.digest: {}", where, digest.error().message));
  d.digest = *digest;
  auto sz = j.find("size");
  if (sz == j.end() || !sz->is_number_integer() || (sz->is_number_integer() && !sz->is_number_unsigned() &&
                                                    sz->get<int64_t>() < 0))
    return invalid(fmt::format("{}.size must be a non-negative integer", where));
  d.size = sz->get<uint64_t>();
  if (d.size > static_cast<uint64_t>(INT64_MAX)) return invalid(fmt::format("{}.size is too large", where));
  auto at = optional_string(j, "artifactType", where);
  if (!at) return std::unexpected(at.error());
  d.artifact_type = *at;
  if (auto urls = j.find("urls"); urls != j.end()) {
    if (!urls->is_array()) return invalid(fmt::format("{}.urls must be an array", where));
    d.has_urls = !urls->empty();
  }
  if (auto s = check_annotations(j, where); !s) return std::unexpected(s.error());
  return d;
}

Result<std::vector<Descriptor>> parse_descriptor_list(const json& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end() || !it->is_array()) return invalid(fmt::format("{} must be an array", key));
  std::vector<Descriptor> out;
  out.reserve(it->size());
  for (size_t i = 0; i < it->size(); ++i) {
    auto d = parse_descriptor((*it)[i], fmt::format("{}[{}]", key, i));
    if (!d) return std::unexpected(d.error());
    out.push_back(std::move(*d));
  }
  return out;
}

// Picks the media type from the body, the Content-Type, or the shape.
Result<std::string> resolve_media_type(const json& doc, std::string_view content_type) {
  auto body_type = optional_string(doc, "mediaType", "manifest");
  if (!body_type) return std::unexpected(body_type.error());
  std::string_view ct = strip_media_type_params(content_type);
  bool ct_is_manifest = is_supported_manifest_type(ct) || ct == media_type::kDockerSchema1 ||
                        ct == media_type::kDockerSchema1Signed;
  if (*body_type) {
    if (ct_is_manifest && ct != **body_type)
      return invalid(fmt::format("Content-Type {} does not match the manifest's mediaType {}", ct, **body_type));
    return **body_type;
  }
  if (ct_is_manifest) return std::string(ct);
  // No mediaType anywhere (umoci omits it): decide by shape.
  return std::string(doc.contains("manifests") ? media_type::kOciIndex : media_type::kOciManifest);
}

}  // namespace

bool is_index_type(std::string_view t) {
  return t == media_type::kOciIndex || t == media_type::kDockerManifestList;
}

bool is_supported_manifest_type(std::string_view t) {
  return t == media_type::kOciManifest || t == media_type::kDockerManifest || is_index_type(t);
}

std::string_view strip_media_type_params(std::string_view ct) {
  auto semi = ct.find(';');
  if (semi != std::string_view::npos) ct = ct.substr(0, semi);
  while (!ct.empty() && ct.back() == ' ') ct.remove_suffix(1);
  while (!ct.empty() && ct.front() == ' ') ct.remove_prefix(1);
  return ct;
}

Result<ParsedManifest> parse_manifest(std::string_view body, std::string_view content_type) {
  if (body.empty()) return invalid("manifest body is empty");
  // nlohmann skips a UTF-8 byte order mark, Go clients do not: refuse what they could not pull.
  if (body.starts_with("\xEF\xBB\xBF")) return invalid("manifest must not start with a byte order mark");
  if (!depth_within(body, kMaxJsonDepth)) return invalid("manifest JSON is nested too deeply");
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return invalid("manifest is not well-formed JSON");
  if (!doc.is_object()) return invalid("manifest must be a JSON object");
  auto sv = doc.find("schemaVersion");
  if (sv != doc.end() && sv->is_number_integer() && sv->get<int64_t>() == 1)
    return fail(ErrorCode::kUnimplemented,
                "Docker schema 1 manifests are not supported; push schema 2 or OCI (e.g. skopeo --format v2s2)");
  if (sv == doc.end() || !sv->is_number_integer() || sv->get<int64_t>() != 2)
    return invalid("schemaVersion must be 2");
  auto mt = resolve_media_type(doc, content_type);
  if (!mt) return std::unexpected(mt.error());
  if (*mt == media_type::kDockerSchema1 || *mt == media_type::kDockerSchema1Signed)
    return fail(ErrorCode::kUnimplemented, "Docker schema 1 manifests are not supported");
  if (!is_supported_manifest_type(*mt)) return invalid(fmt::format("unsupported manifest media type {}", *mt));

  ParsedManifest m;
  m.media_type = *mt;
  m.is_index = is_index_type(*mt);
  if (m.is_index) {
    if (doc.contains("layers") || doc.contains("config"))
      return invalid("an index must not have config or layers");
    auto list = parse_descriptor_list(doc, "manifests");
    if (!list) return std::unexpected(list.error());
    m.manifests = std::move(*list);
  } else {
    if (doc.contains("manifests")) return invalid("an image manifest must not have manifests");
    auto cfg = doc.find("config");
    if (cfg == doc.end()) return invalid("config is required");
    auto c = parse_descriptor(*cfg, "config");
    if (!c) return std::unexpected(c.error());
    m.config = std::move(*c);
    auto layers = parse_descriptor_list(doc, "layers");
    if (!layers) return std::unexpected(layers.error());
    m.layers = std::move(*layers);
  }
  if (auto s = doc.find("subject"); s != doc.end()) {
    auto d = parse_descriptor(*s, "subject");
    if (!d) return std::unexpected(d.error());
    m.subject = std::move(*d);
  }
  auto at = optional_string(doc, "artifactType", "manifest");
  if (!at) return std::unexpected(at.error());
  // OCI 1.1: an empty artifactType counts as missing.
  if (*at && !(*at)->empty()) m.artifact_type = *at;
  if (!m.artifact_type && m.config) m.artifact_type = m.config->media_type;
  if (auto s = check_annotations(doc, "manifest"); !s) return std::unexpected(s.error());
  if (auto a = doc.find("annotations"); a != doc.end() && a->is_object() && !a->empty()) m.annotations_json = a->dump();
  return m;
}

}  // namespace custody::registry
