// Registry: the Distribution API's operations over a BlobStore and a
// MetaStore, free of HTTP. Every change it makes commits together with its
// custody-log event.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/byte_source.h"
#include "meta/meta_store.h"
#include "registry/errors.h"
#include "registry/manifest.h"
#include "registry/names.h"
#include "registry/range.h"
#include "storage/blob_store.h"

namespace custody::registry {

template <typename T>
using RegResult = std::expected<T, RegistryError>;
using RegStatus = std::expected<void, RegistryError>;

// Who is acting, for the custody log.
struct Actor {
  std::string name = "anonymous";
  std::string auth = "none";
  std::string source;
};

// Pulls the request body: returns bytes read, 0 at the end.
using ReadFn = std::function<Result<size_t>(std::span<std::byte>)>;

struct RegistryLimits {
  uint64_t manifest_max_bytes = 4 * 1024 * 1024;
  uint64_t upload_max_bytes = 0;  // 0 = unlimited
};

struct PushedManifest {
  Digest digest;
  std::optional<Digest> subject;
};

// One page of a sorted listing.
struct Page {
  std::vector<std::string> names;
  bool more = false;  // names follow the last one
};

// A chunk as announced by the client, for order checks.
struct ChunkHeader {
  std::optional<InclusiveRange> content_range;
  std::optional<uint64_t> content_length;
};

class Registry {
 public:
  Registry(storage::BlobStore& blobs, meta::MetaStore& meta, RegistryLimits limits)
      : blobs_(blobs), meta_(meta), limits_(limits) {}

  // Blobs visible in `repo`.
  RegResult<uint64_t> blob_size(const std::string& repo, const Digest& digest);
  RegResult<std::unique_ptr<ByteSource>> open_blob(const std::string& repo, const Digest& digest,
                                                   storage::ByteRange range);
  RegStatus delete_blob(const std::string& repo, const Digest& digest, const Actor& actor);

  // Upload sessions.
  // Upload sessions belong to the principal that opened them: for anyone
  // else they are BLOB_UPLOAD_UNKNOWN.
  RegResult<std::string> start_upload(const std::string& repo, const std::string& principal);
  // Links `digest` from `from` into `repo`; nullopt when `from` cannot
  // provide it (the caller then starts a normal upload).
  RegResult<std::optional<uint64_t>> mount_blob(const std::string& repo, const std::string& from,
                                                const Digest& digest, const Actor& actor);
  RegResult<uint64_t> upload_size(const std::string& repo, const std::string& id, const std::string& principal);
  // Appends one chunk; returns the session's new size.
  RegResult<uint64_t> append_chunk(const std::string& repo, const std::string& id, const std::string& principal,
                                   const ChunkHeader& chunk,
                                   const ReadFn& read);
  // Appends an optional last chunk and commits the blob as `digest`.
  RegResult<uint64_t> finish_upload(const std::string& repo, const std::string& id, const Digest& digest,
                                    const ChunkHeader& chunk, const ReadFn& read, const Actor& actor);
  RegStatus cancel_upload(const std::string& repo, const std::string& id, const std::string& principal);
  // A whole blob in one request (POST ?digest=).
  RegResult<uint64_t> put_blob(const std::string& repo, const Digest& digest, const ChunkHeader& chunk,
                               const ReadFn& read, const Actor& actor);

  // Manifests and tags.
  RegResult<PushedManifest> put_manifest(const std::string& repo, const Reference& ref, const std::string& body,
                                         std::string_view content_type, const Actor& actor);
  RegResult<meta::ManifestRecord> get_manifest(const std::string& repo, const Reference& ref);
  RegStatus delete_manifest(const std::string& repo, const Reference& ref, const Actor& actor);
  // Up to `limit` names sorted after `after`.
  RegResult<Page> list_tags(const std::string& repo, const std::string& after, uint32_t limit);
  RegResult<Page> list_repositories(const std::string& after, uint32_t limit);
  RegResult<std::vector<meta::ManifestRecord>> referrers(const std::string& repo, const Digest& subject);

  const RegistryLimits& limits() const { return limits_; }

 private:
  RegResult<std::unique_ptr<storage::BlobWriter>> resume_session(const std::string& repo, const std::string& id,
                                                                 const std::string& principal);
  RegStatus stream_chunk(storage::BlobWriter& w, const ChunkHeader& chunk, const ReadFn& read);
  RegResult<uint64_t> commit_blob(storage::BlobWriter& w, const std::string& repo, const Digest& digest,
                                  const std::optional<std::string>& upload_id, const Actor& actor);
  RegStatus check_references(meta::Txn& txn, const std::string& repo, const ParsedManifest& m);

  storage::BlobStore& blobs_;
  meta::MetaStore& meta_;
  RegistryLimits limits_;
};

}  // namespace custody::registry
