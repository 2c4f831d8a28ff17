// Small POSIX file helpers: an owning descriptor and the few durable-write
// primitives the stores need.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "common/error.h"

namespace custody {

// Owns a file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }

 private:
  int fd_ = -1;
};

Result<UniqueFd> open_file(const std::filesystem::path& path, int flags, int mode = 0644);
Status write_all(int fd, std::span<const std::byte> data);
Status write_all(int fd, std::string_view data);
Status pwrite_all(int fd, std::span<const std::byte> data, uint64_t offset);
Status fsync_fd(int fd, std::string_view what);
Status fsync_dir(const std::filesystem::path& dir);
Result<std::string> read_small_file(const std::filesystem::path& path, size_t max_bytes);
// Writes `data` to `path` atomically and durably (temp file, fsync, rename, fsync dir).
Status write_file_durably(const std::filesystem::path& path, std::string_view data);
std::string errno_text(int err);

}  // namespace custody
