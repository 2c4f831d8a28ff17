// FsBlobStore: the embedded BlobStore on a local filesystem.
//
//   <root>/blobs/sha256/<2 hex>/<64 hex>   published blobs (read-only)
//   <root>/uploads/<uuid>/data              bytes of an upload session
//   <root>/uploads/<uuid>/state             size + saved hash state
//
// Publishing is fsync(data) → rename → fsync(dir), so a blob that is
// visible is complete and durable.
#pragma once

#include <filesystem>

#include "storage/blob_store.h"

namespace custody::storage {

class FsBlobStore final : public BlobStore {
 public:
  static Result<std::unique_ptr<FsBlobStore>> open_at(const std::filesystem::path& root);

  Result<BlobInfo> stat(const Digest& digest) override;
  Result<std::unique_ptr<ByteSource>> open(const Digest& digest, ByteRange range) override;
  Status start_upload(const std::string& upload_id) override;
  Result<std::unique_ptr<BlobWriter>> resume(const std::string& upload_id) override;
  void drop_upload(const std::string& upload_id) override;
  Status remove(const Digest& digest) override;

  std::filesystem::path blob_path(const Digest& digest) const;

 private:
  explicit FsBlobStore(std::filesystem::path root) : root_(std::move(root)) {}
  std::filesystem::path upload_dir(const std::string& upload_id) const;
  std::filesystem::path root_;
};

}  // namespace custody::storage
