// Registry: manifests, tags, referrers and listings.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/time.h"
#include "registry/registry.h"
#include "registry/registry_internal.h"

namespace custody::registry {
namespace {

using json = nlohmann::json;
using internal::event_of;
using internal::read;
using internal::reg_fail;
using internal::server_fault;
using internal::transact;

bool is_foreign_layer(const Descriptor& d) {
  return d.has_urls && (d.media_type.find("foreign") != std::string::npos ||
                        d.media_type.find("nondistributable") != std::string::npos);
}

// Runs a query for limit + 1 names and cuts it to a page, noting whether
// more follow (which decides the Link header).
RegResult<Page> page_of(meta::MetaStore& meta, uint32_t limit,
                        const std::function<RegResult<std::vector<std::string>>(meta::Txn&)>& query) {
  Page out;
  auto r = read(meta, [&](meta::Txn& t) -> RegStatus {
    auto names = query(t);
    if (!names) return std::unexpected(names.error());
    out.more = names->size() > limit;
    if (out.more) names->resize(limit);
    out.names = std::move(*names);
    return {};
  });
  if (!r) return std::unexpected(r.error());
  return out;
}

RegStatus require_repository(meta::Txn& t, const std::string& repo) {
  auto exists = t.repository_exists(repo);
  if (!exists) return server_fault(exists.error());
  if (!*exists) return reg_fail(OciCode::kNameUnknown, "repository name not known to registry", repo);
  return {};
}

}  // namespace

RegStatus Registry::check_references(meta::Txn& t, const std::string& repo, const ParsedManifest& m) {
  auto check_blob = [&](const Descriptor& d) -> RegStatus {
    if (is_foreign_layer(d)) return {};
    auto size = t.linked_blob_size(repo, d.digest);
    if (!size) return server_fault(size.error());
    if (!*size) return reg_fail(OciCode::kManifestBlobUnknown, "blob unknown to registry", d.digest.str());
    if (**size != d.size)
      return reg_fail(OciCode::kManifestInvalid,
                      fmt::format("descriptor of {} says {} bytes, the blob has {}", d.digest.str(), d.size, **size),
                      d.digest.str());
    return {};
  };
  if (m.config) {
    if (auto s = check_blob(*m.config); !s) return s;
  }
  for (const auto& l : m.layers)
    if (auto s = check_blob(l); !s) return s;
  for (const auto& child : m.manifests) {
    auto found = t.get_manifest(repo, child.digest);
    if (!found) return server_fault(found.error());
    if (!*found) return reg_fail(OciCode::kManifestBlobUnknown, "manifest unknown to registry", child.digest.str());
    if ((*found)->body.size() != child.size)
      return reg_fail(OciCode::kManifestInvalid,
                      fmt::format("descriptor of {} says {} bytes, the manifest has {}", child.digest.str(),
                                  child.size, (*found)->body.size()),
                      child.digest.str());
  }
  return {};
}

RegResult<PushedManifest> Registry::put_manifest(const std::string& repo, const Reference& ref,
                                                 const std::string& body, std::string_view content_type,
                                                 const Actor& actor) {
  if (body.size() > limits_.manifest_max_bytes)
    return std::unexpected(RegistryError{
        OciCode::kSizeInvalid, fmt::format("manifest exceeds {} bytes", limits_.manifest_max_bytes), {}, 413});
  auto parsed = parse_manifest(body, content_type);
  if (!parsed) return reg_fail(OciCode::kManifestInvalid, parsed.error().message);
  Digest digest = Digest::of(body);
  if (const Digest* want = std::get_if<Digest>(&ref); want && *want != digest)
    return reg_fail(OciCode::kDigestInvalid,
                    fmt::format("manifest digest is {}, not the {} in the URL", digest.str(), want->str()),
                    want->str());
  const std::string* tag = std::get_if<std::string>(&ref);

  meta::ManifestRecord rec;
  rec.repository = repo;
  rec.digest = digest;
  rec.media_type = parsed->media_type;
  rec.artifact_type = parsed->artifact_type;
  if (parsed->subject) rec.subject = parsed->subject->digest;
  rec.annotations_json = parsed->annotations_json;
  rec.body = body;
  rec.created_ms = now_unix_ms();
  std::vector<meta::ManifestReference> refs;
  if (parsed->config) refs.push_back({parsed->config->digest, meta::ManifestReference::Kind::kBlob});
  for (const auto& l : parsed->layers) refs.push_back({l.digest, meta::ManifestReference::Kind::kBlob});
  for (const auto& c : parsed->manifests) refs.push_back({c.digest, meta::ManifestReference::Kind::kManifest});

  auto r = transact(meta_, [&](meta::Txn& t) -> RegStatus {
    if (auto s = check_references(t, repo, *parsed); !s) return s;
    auto inserted = t.put_manifest(rec, refs);
    if (!inserted) return server_fault(inserted.error());
    if (*inserted) {
      json detail = {{"media_type", rec.media_type}, {"size", body.size()}};
      if (rec.subject) detail["subject"] = rec.subject->str();
      if (rec.artifact_type) detail["artifact_type"] = *rec.artifact_type;
      if (auto e = t.append_event(event_of(actor, "manifest.push", repo, digest.str(), tag ? *tag : "", detail)); !e)
        return server_fault(e.error());
    }
    if (!tag) return {};
    auto before = t.set_tag(repo, *tag, digest);
    if (!before) return server_fault(before.error());
    if (*before == digest) return {};
    json detail = {{"before", *before ? json((*before)->str()) : json(nullptr)}, {"after", digest.str()}};
    if (auto e = t.append_event(event_of(actor, "tag.set", repo, digest.str(), *tag, detail)); !e)
      return server_fault(e.error());
    return {};
  });
  if (!r) return std::unexpected(r.error());
  return PushedManifest{digest, rec.subject};
}

RegResult<meta::ManifestRecord> Registry::get_manifest(const std::string& repo, const Reference& ref) {
  std::optional<meta::ManifestRecord> out;
  auto r = read(meta_, [&](meta::Txn& t) -> RegStatus {
    auto rec = std::holds_alternative<Digest>(ref) ? t.get_manifest(repo, std::get<Digest>(ref))
                                                   : t.get_tagged_manifest(repo, std::get<std::string>(ref));
    if (!rec) return server_fault(rec.error());
    if (*rec) {
      out = std::move(**rec);
      return {};
    }
    if (auto s = require_repository(t, repo); !s) return s;
    return reg_fail(OciCode::kManifestUnknown, "manifest unknown to registry");
  });
  if (!r) return std::unexpected(r.error());
  return std::move(*out);
}

RegStatus Registry::delete_manifest(const std::string& repo, const Reference& ref, const Actor& actor) {
  return transact(meta_, [&](meta::Txn& t) -> RegStatus {
    if (const auto* tag = std::get_if<std::string>(&ref)) {
      auto before = t.delete_tag(repo, *tag);
      if (!before) return server_fault(before.error());
      if (!*before) {
        if (auto s = require_repository(t, repo); !s) return s;
        return reg_fail(OciCode::kManifestUnknown, "tag unknown to registry", *tag);
      }
      json detail = {{"before", (*before)->str()}};
      if (auto e = t.append_event(event_of(actor, "tag.delete", repo, (*before)->str(), *tag, detail)); !e)
        return server_fault(e.error());
      return {};
    }
    const Digest& digest = std::get<Digest>(ref);
    auto existing = t.get_manifest(repo, digest);
    if (!existing) return server_fault(existing.error());
    if (!*existing) {
      if (auto s = require_repository(t, repo); !s) return s;
      return reg_fail(OciCode::kManifestUnknown, "manifest unknown to registry", digest.str());
    }
    auto tags = t.delete_manifest(repo, digest);
    if (!tags) return server_fault(tags.error());
    json detail = {{"tags", *tags}};
    // A deleted referrer (a signature, an SBOM) shows in its subject's trace.
    if ((*existing)->subject) detail["subject"] = (*existing)->subject->str();
    if (auto e = t.append_event(event_of(actor, "manifest.delete", repo, digest.str(), "", detail)); !e)
      return server_fault(e.error());
    return {};
  });
}

RegResult<Page> Registry::list_tags(const std::string& repo, const std::string& after, uint32_t limit) {
  return page_of(meta_, limit, [&](meta::Txn& t) -> RegResult<std::vector<std::string>> {
    if (auto s = require_repository(t, repo); !s) return std::unexpected(s.error());
    auto tags = t.list_tags(repo, after, limit + 1);
    if (!tags) return server_fault(tags.error());
    return std::move(*tags);
  });
}

RegResult<Page> Registry::list_repositories(const std::string& after, uint32_t limit) {
  return page_of(meta_, limit, [&](meta::Txn& t) -> RegResult<std::vector<std::string>> {
    auto names = t.list_repositories(after, limit + 1);
    if (!names) return server_fault(names.error());
    return std::move(*names);
  });
}

RegResult<std::vector<meta::ManifestRecord>> Registry::referrers(const std::string& repo, const Digest& subject) {
  std::vector<meta::ManifestRecord> out;
  auto r = read(meta_, [&](meta::Txn& t) -> RegStatus {
    auto list = t.referrers(repo, subject);
    if (!list) return server_fault(list.error());
    out = std::move(*list);
    return {};
  });
  if (!r) return std::unexpected(r.error());
  return out;
}

}  // namespace custody::registry
