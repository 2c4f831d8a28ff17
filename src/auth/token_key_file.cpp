#include "auth/token_key_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "common/file.h"
#include "common/ids.h"

namespace custody::auth {
namespace {

constexpr size_t kMaxKeyFileSize = 64 * 1024;

Result<TokenKey> load(const std::filesystem::path& path) {
  auto pem = read_small_file(path, kMaxKeyFileSize);
  if (!pem) return std::unexpected(pem.error());
  auto key = TokenKey::from_pem(*pem);
  if (!key) return fail(key.error().code, fmt::format("token key {}: {}", path.string(), key.error().message));
  return key;
}

// Writes `pem` to a private temporary file next to `path`, then links it
// into place: link(2), unlike rename(2), fails rather than replacing a key
// another process wrote meanwhile (which tokens may already be signed by).
// Returns false if that happened.
Result<bool> publish(const std::filesystem::path& path, std::string_view pem) {
  auto tmp = path;
  tmp += ".tmp-" + random_uuid();
  auto fd = open_file(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (!fd) return std::unexpected(fd.error());
  Status written = write_all(fd->get(), pem);
  if (written) written = fsync_fd(fd->get(), tmp.string());
  int linked = written ? ::link(tmp.c_str(), path.c_str()) : -1;
  int link_errno = errno;
  ::unlink(tmp.c_str());
  if (!written) return std::unexpected(written.error());
  if (linked != 0 && link_errno == EEXIST) return false;
  if (linked != 0) return fail(ErrorCode::kInternal, fmt::format("link {}: {}", path.string(), errno_text(link_errno)));
  if (auto s = fsync_dir(path.has_parent_path() ? path.parent_path() : "."); !s) return std::unexpected(s.error());
  return true;
}

}  // namespace

Result<TokenKey> load_or_create_token_key(const std::filesystem::path& path) {
  auto existing = load(path);
  if (existing || existing.error().code != ErrorCode::kNotFound) return existing;
  auto key = TokenKey::generate();
  if (!key) return key;
  auto pem = key->private_pem();
  if (!pem) return std::unexpected(pem.error());
  auto created = publish(path, *pem);
  if (!created) return std::unexpected(created.error());
  if (!*created) return load(path);  // lost the race: use the winner's key
  return key;
}

}  // namespace custody::auth
