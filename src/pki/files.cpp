#include "pki/files.h"

#include "pki/ca.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "common/file.h"

namespace custody::pki::internal {
namespace {

// O_NOFOLLOW: a symlink planted at a key's path must not redirect the
// write (or the chmod) to a file of the attacker's choosing.
Status write_fd(const std::filesystem::path& path, int flags, mode_t mode, std::string_view data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC | flags, mode));
  if (!fd.valid()) {
    int err = errno;
    if (err == EEXIST) return fail(ErrorCode::kAlreadyExists, fmt::format("{} already exists", path.string()));
    return fail(ErrorCode::kInternal, fmt::format("open {}: {}", path.string(), errno_text(err)));
  }
  if (::fchmod(fd.get(), mode) != 0)
    return fail(ErrorCode::kInternal, fmt::format("chmod {}: {}", path.string(), errno_text(errno)));
  if (auto s = write_all(fd.get(), data); !s) return s;
  return fsync_fd(fd.get(), path.string());
}

}  // namespace

Status write_file(const std::filesystem::path& path, std::string_view data, mode_t mode, bool overwrite) {
  std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  if (!overwrite) {
    if (auto s = write_fd(path, O_CREAT | O_EXCL, mode, data); !s) return s;
    return fsync_dir(dir);
  }
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  if (auto s = write_fd(tmp, O_CREAT | O_TRUNC, mode, data); !s) return s;
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return fail(ErrorCode::kInternal, fmt::format("rename {}: {}", path.string(), errno_text(err)));
  }
  return fsync_dir(dir);
}

Status ensure_absent(std::span<const std::filesystem::path> paths) {
  for (const auto& p : paths) {
    std::error_code ec;
    auto st = std::filesystem::symlink_status(p, ec);
    if (ec && ec != std::errc::no_such_file_or_directory)
      return fail(ErrorCode::kInternal, fmt::format("stat {}: {}", p.string(), ec.message()));
    if (std::filesystem::exists(st))
      return fail(ErrorCode::kAlreadyExists, fmt::format("{} already exists (overwrite to replace it)", p.string()));
  }
  return {};
}

Status make_directories(const std::filesystem::path& dir, mode_t mode) {
  if (dir.empty()) return {};
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return {};
  if (dir.has_parent_path() && dir.parent_path() != dir) {
    if (auto s = make_directories(dir.parent_path(), mode); !s) return s;
  }
  if (::mkdir(dir.c_str(), mode) != 0) {
    int err = errno;
    // Made meanwhile by someone else: use it, but leave its mode alone.
    if (err == EEXIST && std::filesystem::is_directory(dir, ec)) return {};
    return fail(ErrorCode::kInternal, fmt::format("mkdir {}: {}", dir.string(), errno_text(err)));
  }
  // mkdir's mode is reduced by the umask; a key directory must be exact.
  if (::chmod(dir.c_str(), mode) != 0)
    return fail(ErrorCode::kInternal, fmt::format("chmod {}: {}", dir.string(), errno_text(errno)));
  return {};
}

}  // namespace custody::pki::internal

namespace custody::pki {

Status save_issued(const IssuedCertificate& issued, const std::filesystem::path& key_file,
                   const std::filesystem::path& cert_file, bool overwrite) {
  if (!overwrite) {
    std::filesystem::path both[] = {key_file, cert_file};
    if (auto s = internal::ensure_absent(both); !s) return s;
  }
  if (auto s = internal::write_file(key_file, issued.key_pem, 0600, overwrite); !s) return s;
  return internal::write_file(cert_file, issued.cert_pem, 0644, overwrite);
}

}  // namespace custody::pki
