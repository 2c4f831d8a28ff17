#include "common/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace custody {

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

std::string errno_text(int err) { return std::strerror(err); }

Result<UniqueFd> open_file(const std::filesystem::path& path, int flags, int mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) {
    int err = errno;
    ErrorCode code = err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kInternal;
    return fail(code, fmt::format("open {}: {}", path.string(), errno_text(err)));
  }
  return UniqueFd(fd);
}

Status write_all(int fd, std::span<const std::byte> data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(ErrorCode::kInternal, fmt::format("write: {}", errno_text(errno)));
    }
    data = data.subspan(static_cast<size_t>(n));
  }
  return {};
}

Status write_all(int fd, std::string_view data) {
  return write_all(fd, std::as_bytes(std::span(data.data(), data.size())));
}

Status pwrite_all(int fd, std::span<const std::byte> data, uint64_t offset) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(ErrorCode::kInternal, fmt::format("pwrite: {}", errno_text(errno)));
    }
    data = data.subspan(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return {};
}

Status fsync_fd(int fd, std::string_view what) {
  if (::fsync(fd) != 0) return fail(ErrorCode::kInternal, fmt::format("fsync {}: {}", what, errno_text(errno)));
  return {};
}

Status fsync_dir(const std::filesystem::path& dir) {
  auto fd = open_file(dir, O_RDONLY | O_DIRECTORY);
  if (!fd) return std::unexpected(fd.error());
  return fsync_fd(fd->get(), dir.string());
}

Result<std::string> read_small_file(const std::filesystem::path& path, size_t max_bytes) {
  auto fd = open_file(path, O_RDONLY);
  if (!fd) return std::unexpected(fd.error());
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd->get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(ErrorCode::kInternal, fmt::format("read {}: {}", path.string(), errno_text(errno)));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) return fail(ErrorCode::kResourceExhausted, path.string() + " is too large");
  }
  return out;
}

Status write_file_durably(const std::filesystem::path& path, std::string_view data) {
  auto tmp = path;
  tmp += ".tmp";
  auto fd = open_file(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (!fd) return std::unexpected(fd.error());
  if (auto s = write_all(fd->get(), data); !s) return s;
  if (auto s = fsync_fd(fd->get(), tmp.string()); !s) return s;
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return fail(ErrorCode::kInternal, fmt::format("rename {}: {}", path.string(), errno_text(errno)));
  return fsync_dir(path.parent_path());
}

}  // namespace custody
