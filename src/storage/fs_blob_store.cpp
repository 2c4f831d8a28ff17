#include "storage/fs_blob_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <system_error>

#include <fmt/format.h>

#include "common/file.h"
#include "common/ids.h"

namespace custody::storage {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kStateMagic = "custody-upload-v1\n";

class FileSource final : public ByteSource {
 public:
  FileSource(UniqueFd fd, uint64_t offset, uint64_t length)
      : fd_(std::move(fd)), offset_(offset), length_(length) {}
  uint64_t length() const override { return length_; }
  Result<size_t> read(std::span<std::byte> out) override {
    uint64_t left = length_ - consumed_;
    size_t want = static_cast<size_t>(std::min<uint64_t>(left, out.size()));
    if (want == 0) return 0;
    for (;;) {
      ssize_t n = ::pread(fd_.get(), out.data(), want, static_cast<off_t>(offset_ + consumed_));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail(ErrorCode::kInternal, "read blob: " + errno_text(errno));
      if (n == 0) return fail(ErrorCode::kDataLoss, "blob is shorter than recorded");
      consumed_ += static_cast<uint64_t>(n);
      return static_cast<size_t>(n);
    }
  }
  std::optional<FileRegion> file_region() const override {
    return FileRegion{fd_.get(), offset_ + consumed_, length_ - consumed_};
  }

 private:
  UniqueFd fd_;
  uint64_t offset_;
  uint64_t length_;
  uint64_t consumed_ = 0;
};

class FsBlobWriter final : public BlobWriter {
 public:
  FsBlobWriter(FsBlobStore* store, fs::path dir, UniqueFd fd, uint64_t size, Sha256 hash)
      : store_(store), dir_(std::move(dir)), fd_(std::move(fd)), size_(size), hash_(hash) {}

  Status append(std::span<const std::byte> data) override {
    if (done_) return fail(ErrorCode::kFailedPrecondition, "upload already finished");
    if (auto s = pwrite_all(fd_.get(), data, size_); !s) return s;
    hash_.update(data);
    size_ += data.size();
    return {};
  }

  uint64_t size() const override { return size_; }

  Status suspend() override {
    if (done_) return {};
    std::string state(kStateMagic);
    state += std::to_string(size_);
    state += '\n';
    state += hash_.save_state();
    auto tmp = dir_ / "state.tmp";
    auto fd = open_file(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (!fd) return std::unexpected(fd.error());
    if (auto s = write_all(fd->get(), state); !s) return s;
    if (::rename(tmp.c_str(), (dir_ / "state").c_str()) != 0)
      return fail(ErrorCode::kInternal, "save upload state: " + errno_text(errno));
    return {};
  }

  Result<BlobInfo> commit(const Digest& expected) override {
    if (done_) return fail(ErrorCode::kFailedPrecondition, "upload already finished");
    Digest actual = hash_.finish();
    if (actual != expected) {
      cancel();
      return fail(ErrorCode::kDataLoss,
                  fmt::format("content digest is {}, not the {} given", actual.str(), expected.str()));
    }
    if (auto s = fsync_fd(fd_.get(), "upload"); !s) return std::unexpected(s.error());
    fs::path target = store_->blob_path(actual);
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    if (ec) return fail(ErrorCode::kInternal, "create blob directory: " + ec.message());
    // An existing blob with this digest has the same bytes: keep it.
    if (!fs::exists(target, ec)) {
      if (::rename((dir_ / "data").c_str(), target.c_str()) != 0)
        return fail(ErrorCode::kInternal, "publish blob: " + errno_text(errno));
      if (auto s = fsync_dir(target.parent_path()); !s) return std::unexpected(s.error());
    }
    cancel();  // removes the now-empty session area
    return BlobInfo{actual, size_};
  }

  void cancel() override {
    done_ = true;
    fd_ = UniqueFd();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

 private:
  FsBlobStore* store_;
  fs::path dir_;
  UniqueFd fd_;
  uint64_t size_;
  Sha256 hash_;
  bool done_ = false;
};

// The saved progress of a session: the size of its last complete chunk and
// the hash state there. No state file means nothing was completed yet.
struct SavedState {
  uint64_t size = 0;
  Sha256 hash;
};

std::optional<SavedState> load_state(const fs::path& dir) {
  auto text = read_small_file(dir / "state", 4096);
  if (!text) {
    if (text.error().code == ErrorCode::kNotFound) return SavedState{};
    return std::nullopt;
  }
  if (!text->starts_with(kStateMagic)) return std::nullopt;
  std::string_view rest = std::string_view(*text).substr(kStateMagic.size());
  auto nl = rest.find('\n');
  if (nl == std::string_view::npos) return std::nullopt;
  uint64_t size = 0;
  auto [p, ec] = std::from_chars(rest.data(), rest.data() + nl, size);
  if (ec != std::errc() || p != rest.data() + nl) return std::nullopt;
  auto hash = Sha256::restore_state(rest.substr(nl + 1));
  if (!hash) return std::nullopt;
  return SavedState{size, *hash};
}

Result<Sha256> rehash(int fd, uint64_t size) {
  Sha256 h;
  std::vector<std::byte> buf(1 << 20);
  uint64_t off = 0;
  while (off < size) {
    ssize_t n = ::pread(fd, buf.data(), std::min<uint64_t>(buf.size(), size - off), static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(ErrorCode::kInternal, "re-read upload: " + errno_text(errno));
    h.update(std::span(buf.data(), static_cast<size_t>(n)));
    off += static_cast<uint64_t>(n);
  }
  return h;
}

}  // namespace

Result<std::unique_ptr<FsBlobStore>> FsBlobStore::open_at(const fs::path& root) {
  std::error_code ec;
  fs::create_directories(root / "blobs" / "sha256", ec);
  if (!ec) fs::create_directories(root / "uploads", ec);
  if (ec) return fail(ErrorCode::kInternal, fmt::format("create {}: {}", root.string(), ec.message()));
  return std::unique_ptr<FsBlobStore>(new FsBlobStore(root));
}

fs::path FsBlobStore::blob_path(const Digest& digest) const {
  std::string_view hex = digest.hex();
  return root_ / "blobs" / "sha256" / std::string(hex.substr(0, 2)) / std::string(hex);
}

fs::path FsBlobStore::upload_dir(const std::string& upload_id) const { return root_ / "uploads" / upload_id; }

Result<BlobInfo> FsBlobStore::stat(const Digest& digest) {
  struct stat st {};
  if (::stat(blob_path(digest).c_str(), &st) != 0) {
    if (errno == ENOENT) return fail(ErrorCode::kNotFound, "blob unknown: " + digest.str());
    return fail(ErrorCode::kInternal, "stat blob: " + errno_text(errno));
  }
  return BlobInfo{digest, static_cast<uint64_t>(st.st_size)};
}

Result<std::unique_ptr<ByteSource>> FsBlobStore::open(const Digest& digest, ByteRange range) {
  auto fd = open_file(blob_path(digest), O_RDONLY);
  if (!fd) return std::unexpected(fd.error());
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return fail(ErrorCode::kInternal, "stat blob: " + errno_text(errno));
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (range.offset > size) return fail(ErrorCode::kOutOfRange, "range starts past the end of the blob");
  uint64_t length = std::min(range.length, size - range.offset);
  return std::unique_ptr<ByteSource>(new FileSource(std::move(*fd), range.offset, length));
}

Status FsBlobStore::start_upload(const std::string& upload_id) {
  if (!is_canonical_uuid(upload_id)) return fail(ErrorCode::kInvalidArgument, "bad upload id");
  fs::path dir = upload_dir(upload_id);
  if (::mkdir(dir.c_str(), 0700) != 0) return fail(ErrorCode::kInternal, "create upload: " + errno_text(errno));
  auto fd = open_file(dir / "data", O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (!fd) return std::unexpected(fd.error());
  return {};
}

Result<std::unique_ptr<BlobWriter>> FsBlobStore::resume(const std::string& upload_id) {
  if (!is_canonical_uuid(upload_id)) return fail(ErrorCode::kNotFound, "upload unknown");
  fs::path dir = upload_dir(upload_id);
  auto fd = open_file(dir / "data", O_RDWR);
  if (!fd) return fail(ErrorCode::kNotFound, "upload unknown");
  // One request at a time per session; works across processes on one host.
  if (::flock(fd->get(), LOCK_EX | LOCK_NB) != 0)
    return fail(ErrorCode::kFailedPrecondition, "upload is in use by another request");
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return fail(ErrorCode::kInternal, "stat upload: " + errno_text(errno));
  uint64_t size = static_cast<uint64_t>(st.st_size);
  Sha256 hash;
  auto saved = load_state(dir);
  if (saved && saved->size <= size) {
    // Bytes past the last complete chunk belong to a request that failed:
    // drop them, so a chunk is either wholly in the session or not at all.
    if (saved->size < size && ::ftruncate(fd->get(), static_cast<off_t>(saved->size)) != 0)
      return fail(ErrorCode::kInternal, "truncate upload: " + errno_text(errno));
    size = saved->size;
    hash = saved->hash;
  } else {
    auto h = rehash(fd->get(), size);
    if (!h) return std::unexpected(h.error());
    hash = *h;
  }
  return std::unique_ptr<BlobWriter>(new FsBlobWriter(this, dir, std::move(*fd), size, hash));
}

void FsBlobStore::drop_upload(const std::string& upload_id) {
  if (!is_canonical_uuid(upload_id)) return;
  std::error_code ec;
  fs::remove_all(upload_dir(upload_id), ec);
}

Status FsBlobStore::remove(const Digest& digest) {
  if (::unlink(blob_path(digest).c_str()) != 0 && errno != ENOENT)
    return fail(ErrorCode::kInternal, "remove blob: " + errno_text(errno));
  return {};
}

}  // namespace custody::storage
