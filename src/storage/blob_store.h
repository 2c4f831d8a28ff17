// BlobStore: content-addressed bytes, shared by every repository.
//
// A blob exists in the store once, under its digest; which repositories may
// see it is metadata (MetaStore), not storage. Uploads are written to a
// session area, hashed as they stream, and published only by commit(), which
// checks the digest and makes the bytes durable before they become visible.
// Thread-safe; a single BlobWriter is not.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "common/byte_source.h"
#include "common/digest.h"
#include "common/error.h"

namespace custody::storage {

struct BlobInfo {
  Digest digest;
  uint64_t size = 0;
};

// A byte range [offset, offset + length); length == UINT64_MAX means "to the end".
struct ByteRange {
  uint64_t offset = 0;
  uint64_t length = UINT64_MAX;
};

// One upload session, held by one request at a time (others get
// kFailedPrecondition until it is released).
class BlobWriter {
 public:
  virtual ~BlobWriter() = default;
  // Appends bytes at the current end, hashing them as they are written.
  virtual Status append(std::span<const std::byte> data) = 0;
  virtual uint64_t size() const = 0;
  // Records progress so a later resume() (by this or another process)
  // continues from here without re-reading the bytes.
  virtual Status suspend() = 0;
  // Checks the content against `expected`; on a match makes it durable and
  // visible under that digest. On a mismatch nothing is published, the
  // session is removed, and the error is kDataLoss.
  virtual Result<BlobInfo> commit(const Digest& expected) = 0;
  // Removes everything written for this session.
  virtual void cancel() = 0;
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;
  virtual Result<BlobInfo> stat(const Digest& digest) = 0;
  virtual Result<std::unique_ptr<ByteSource>> open(const Digest& digest, ByteRange range) = 0;
  // Creates an empty session area for `upload_id` (a canonical UUID).
  virtual Status start_upload(const std::string& upload_id) = 0;
  // Re-opens an existing session; kNotFound if there is none.
  virtual Result<std::unique_ptr<BlobWriter>> resume(const std::string& upload_id) = 0;
  // Removes a session's bytes (no-op if there are none).
  virtual void drop_upload(const std::string& upload_id) = 0;
  // Only the garbage collector calls this.
  virtual Status remove(const Digest& digest) = 0;
};

}  // namespace custody::storage
