#include "registry/registry.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "common/time.h"
#include "registry/registry_internal.h"

namespace custody::registry {
namespace {

using json = nlohmann::json;
using internal::event_of;
using internal::reg_fail;
using internal::server_fault;
using internal::transact;

template <typename T>
RegResult<T> read_value(meta::MetaStore& meta, const std::function<Result<T>(meta::Txn&)>& fn) {
  std::optional<T> out;
  auto r = internal::read(meta, [&](meta::Txn& txn) -> RegStatus {
    auto v = fn(txn);
    if (!v) return server_fault(v.error());
    out = std::move(*v);
    return {};
  });
  if (!r) return std::unexpected(r.error());
  return std::move(*out);
}

}  // namespace

RegResult<uint64_t> Registry::blob_size(const std::string& repo, const Digest& digest) {
  auto size = read_value<std::optional<uint64_t>>(
      meta_, [&](meta::Txn& t) { return t.linked_blob_size(repo, digest); });
  if (!size) return std::unexpected(size.error());
  if (!*size) return reg_fail(OciCode::kBlobUnknown, "blob unknown to registry", digest.str());
  return **size;
}

RegResult<std::unique_ptr<ByteSource>> Registry::open_blob(const std::string& repo, const Digest& digest,
                                                           storage::ByteRange range) {
  auto size = blob_size(repo, digest);
  if (!size) return std::unexpected(size.error());
  auto src = blobs_.open(digest, range);
  if (!src) {
    if (src.error().code == ErrorCode::kNotFound)
      return reg_fail(OciCode::kBlobUnknown, "blob content is missing from storage", digest.str());
    return server_fault(src.error());
  }
  return std::move(*src);
}

RegStatus Registry::delete_blob(const std::string& repo, const Digest& digest, const Actor& actor) {
  return transact(meta_, [&](meta::Txn& t) -> RegStatus {
    auto removed = t.unlink_blob(repo, digest);
    if (!removed) return server_fault(removed.error());
    if (!*removed) return reg_fail(OciCode::kBlobUnknown, "blob unknown to registry", digest.str());
    if (auto e = t.append_event(event_of(actor, "blob.delete", repo, digest.str())); !e) return server_fault(e.error());
    return {};
  });
}

RegResult<std::string> Registry::start_upload(const std::string& repo, const std::string& principal) {
  std::string id = random_uuid();
  if (auto s = blobs_.start_upload(id); !s) return server_fault(s.error());
  auto r = meta_.transact([&](meta::Txn& t) { return t.create_upload({id, repo, now_unix_ms(), principal}); });
  if (!r) {
    blobs_.drop_upload(id);
    return server_fault(r.error());
  }
  return id;
}

RegResult<std::optional<uint64_t>> Registry::mount_blob(const std::string& repo, const std::string& from,
                                                        const Digest& digest, const Actor& actor) {
  std::optional<uint64_t> mounted;
  auto r = transact(meta_, [&](meta::Txn& t) -> RegStatus {
    auto size = t.linked_blob_size(from, digest);
    if (!size) return server_fault(size.error());
    if (!*size) return {};
    if (auto s = t.link_blob(repo, digest); !s) return server_fault(s.error());
    json detail = {{"from", from}, {"size", **size}};
    if (auto e = t.append_event(event_of(actor, "blob.mount", repo, digest.str(), {}, detail)); !e)
      return server_fault(e.error());
    mounted = *size;
    return {};
  });
  if (!r) return std::unexpected(r.error());
  return mounted;
}

RegResult<std::unique_ptr<storage::BlobWriter>> Registry::resume_session(const std::string& repo,
                                                                         const std::string& id,
                                                                         const std::string& principal) {
  if (!is_canonical_uuid(id)) return reg_fail(OciCode::kBlobUploadUnknown, "upload unknown", id);
  auto session = read_value<std::optional<meta::UploadSession>>(meta_, [&](meta::Txn& t) { return t.find_upload(id); });
  if (!session) return std::unexpected(session.error());
  if (!*session || (*session)->repository != repo || (*session)->principal != principal)
    return reg_fail(OciCode::kBlobUploadUnknown, "upload unknown", id);
  auto w = blobs_.resume(id);
  if (!w) {
    if (w.error().code == ErrorCode::kNotFound) return reg_fail(OciCode::kBlobUploadUnknown, "upload unknown", id);
    if (w.error().code == ErrorCode::kFailedPrecondition)
      return std::unexpected(RegistryError{OciCode::kBlobUploadInvalid, w.error().message, id, 409});
    return server_fault(w.error());
  }
  return std::move(*w);
}

RegResult<uint64_t> Registry::upload_size(const std::string& repo, const std::string& id,
                                          const std::string& principal) {
  auto w = resume_session(repo, id, principal);
  if (!w) return std::unexpected(w.error());
  return (*w)->size();
}

RegStatus Registry::stream_chunk(storage::BlobWriter& w, const ChunkHeader& chunk, const ReadFn& read) {
  uint64_t start = w.size();
  if (chunk.content_range) {
    if (chunk.content_range->first != start) {
      RegistryError e{OciCode::kRangeInvalid,
                      fmt::format("chunk starts at {}, but the upload has {} bytes", chunk.content_range->first,
                                  start)};
      e.upload_size = start;
      return std::unexpected(e);
    }
    if (chunk.content_length && *chunk.content_length != chunk.content_range->length())
      return reg_fail(OciCode::kSizeInvalid, "Content-Length does not match Content-Range");
  }
  std::vector<std::byte> buf(1 << 20);
  for (;;) {
    auto n = read(buf);
    if (!n) return reg_fail(OciCode::kBlobUploadInvalid, n.error().message);
    if (*n == 0) break;
    if (limits_.upload_max_bytes && w.size() + *n > limits_.upload_max_bytes)
      return std::unexpected(RegistryError{OciCode::kSizeInvalid, "blob exceeds the configured size limit", {}, 413});
    if (auto s = w.append(std::span(buf.data(), *n)); !s) return server_fault(s.error());
  }
  uint64_t got = w.size() - start;
  if (chunk.content_range && got != chunk.content_range->length())
    return reg_fail(OciCode::kSizeInvalid, fmt::format("chunk has {} bytes, Content-Range announced {}", got,
                                                       chunk.content_range->length()));
  if (chunk.content_length && got != *chunk.content_length)
    return reg_fail(OciCode::kSizeInvalid, "body is shorter than Content-Length");
  return {};
}

RegResult<uint64_t> Registry::append_chunk(const std::string& repo, const std::string& id,
                                           const std::string& principal, const ChunkHeader& chunk,
                                           const ReadFn& read) {
  auto w = resume_session(repo, id, principal);
  if (!w) return std::unexpected(w.error());
  // On failure the writer is dropped without suspend(): the next resume
  // rolls the session back to its last complete chunk.
  if (auto s = stream_chunk(**w, chunk, read); !s) return std::unexpected(s.error());
  if (auto s = (*w)->suspend(); !s) return server_fault(s.error());
  return (*w)->size();
}

RegResult<uint64_t> Registry::commit_blob(storage::BlobWriter& w, const std::string& repo, const Digest& digest,
                                          const std::optional<std::string>& upload_id, const Actor& actor) {
  auto info = w.commit(digest);
  if (!info) {
    if (upload_id) (void)meta_.transact([&](meta::Txn& t) { return t.delete_upload(*upload_id); });
    if (info.error().code == ErrorCode::kDataLoss)
      return reg_fail(OciCode::kDigestInvalid, info.error().message, digest.str());
    return server_fault(info.error());
  }
  auto r = transact(meta_, [&](meta::Txn& t) -> RegStatus {
    if (auto s = t.put_blob(digest, info->size); !s) return server_fault(s.error());
    if (auto s = t.link_blob(repo, digest); !s) return server_fault(s.error());
    if (upload_id) {
      if (auto s = t.delete_upload(*upload_id); !s) return server_fault(s.error());
    }
    json detail = {{"size", info->size}};
    if (auto e = t.append_event(event_of(actor, "blob.push", repo, digest.str(), {}, detail)); !e)
      return server_fault(e.error());
    return {};
  });
  if (!r) return std::unexpected(r.error());
  return info->size;
}

RegResult<uint64_t> Registry::finish_upload(const std::string& repo, const std::string& id, const Digest& digest,
                                            const ChunkHeader& chunk, const ReadFn& read, const Actor& actor) {
  auto w = resume_session(repo, id, actor.name);
  if (!w) return std::unexpected(w.error());
  if (auto s = stream_chunk(**w, chunk, read); !s) return std::unexpected(s.error());
  return commit_blob(**w, repo, digest, id, actor);
}

RegStatus Registry::cancel_upload(const std::string& repo, const std::string& id, const std::string& principal) {
  auto w = resume_session(repo, id, principal);
  if (!w) return std::unexpected(w.error());
  (*w)->cancel();
  auto r = meta_.transact([&](meta::Txn& t) { return t.delete_upload(id); });
  if (!r) return server_fault(r.error());
  return {};
}

RegResult<uint64_t> Registry::put_blob(const std::string& repo, const Digest& digest, const ChunkHeader& chunk,
                                       const ReadFn& read, const Actor& actor) {
  std::string id = random_uuid();
  if (auto s = blobs_.start_upload(id); !s) return server_fault(s.error());
  auto w = blobs_.resume(id);
  if (!w) {
    blobs_.drop_upload(id);
    return server_fault(w.error());
  }
  if (auto s = stream_chunk(**w, chunk, read); !s) {
    (*w)->cancel();
    return std::unexpected(s.error());
  }
  return commit_blob(**w, repo, digest, std::nullopt, actor);
}

}  // namespace custody::registry
