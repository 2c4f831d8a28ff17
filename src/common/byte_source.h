// ByteSource: a bounded stream of bytes to send (a blob, a range of one).
// When the bytes live in a file, file_region() lets the HTTP server use
// sendfile(2) instead of copying through user space.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "common/error.h"

namespace custody {

struct FileRegion {
  int fd;
  uint64_t offset;
  uint64_t length;
};

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual uint64_t length() const = 0;
  // Reads up to out.size() bytes; returns 0 at the end.
  virtual Result<size_t> read(std::span<std::byte> out) = 0;
  virtual std::optional<FileRegion> file_region() const { return std::nullopt; }
};

}  // namespace custody
