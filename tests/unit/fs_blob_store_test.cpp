#include "storage/fs_blob_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/ids.h"

namespace custody::storage {
namespace {

namespace fs = std::filesystem;

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

class FsBlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("custody-blobstore-" + random_uuid());
    auto s = FsBlobStore::open_at(root_);
    ASSERT_TRUE(s);
    store_ = std::move(*s);
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string read_all(const Digest& d) {
    auto src = store_->open(d, {});
    EXPECT_TRUE(src);
    std::string out(static_cast<size_t>((*src)->length()), '\0');
    size_t got = 0;
    while (got < out.size()) {
      auto n = (*src)->read(std::as_writable_bytes(std::span(out.data() + got, out.size() - got)));
      EXPECT_TRUE(n);
      if (!n || *n == 0) break;
      got += *n;
    }
    return out;
  }

  std::unique_ptr<BlobWriter> new_upload(std::string& id) {
    id = random_uuid();
    EXPECT_TRUE(store_->start_upload(id));
    auto w = store_->resume(id);
    EXPECT_TRUE(w);
    return std::move(*w);
  }

  fs::path root_;
  std::unique_ptr<FsBlobStore> store_;
};

TEST_F(FsBlobStoreTest, CommitPublishesUnderTheDigest) {
  std::string id;
  auto w = new_upload(id);
  ASSERT_TRUE(w->append(bytes("hello ")));
  ASSERT_TRUE(w->append(bytes("world")));
  Digest d = Digest::of(std::string_view("hello world"));
  auto info = w->commit(d);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->size, 11u);
  EXPECT_EQ(read_all(d), "hello world");
  EXPECT_FALSE(fs::exists(root_ / "uploads" / id));
}

TEST_F(FsBlobStoreTest, WrongDigestStoresNothingAndRemovesTheSession) {
  std::string id;
  auto w = new_upload(id);
  ASSERT_TRUE(w->append(bytes("payload")));
  Digest wrong = Digest::of(std::string_view("other"));
  auto info = w->commit(wrong);
  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().code, ErrorCode::kDataLoss);
  EXPECT_FALSE(store_->stat(wrong));
  EXPECT_FALSE(store_->stat(Digest::of(std::string_view("payload"))));
  EXPECT_FALSE(fs::exists(root_ / "uploads" / id));
}

TEST_F(FsBlobStoreTest, SuspendedSessionResumesWithItsHashState) {
  std::string id;
  {
    auto w = new_upload(id);
    ASSERT_TRUE(w->append(bytes("first-")));
    ASSERT_TRUE(w->suspend());
  }
  auto w = store_->resume(id);
  ASSERT_TRUE(w);
  EXPECT_EQ((*w)->size(), 6u);
  ASSERT_TRUE((*w)->append(bytes("second")));
  EXPECT_TRUE((*w)->commit(Digest::of(std::string_view("first-second"))));
}

TEST_F(FsBlobStoreTest, UnsuspendedBytesAreRolledBack) {
  std::string id;
  {
    auto w = new_upload(id);
    ASSERT_TRUE(w->append(bytes("kept")));
    ASSERT_TRUE(w->suspend());
    ASSERT_TRUE(w->append(bytes("-lost")));  // a chunk whose request failed
  }
  auto w = store_->resume(id);
  ASSERT_TRUE(w);
  EXPECT_EQ((*w)->size(), 4u);
  EXPECT_TRUE((*w)->commit(Digest::of(std::string_view("kept"))));
}

TEST_F(FsBlobStoreTest, CorruptStateFallsBackToRehashing) {
  std::string id;
  {
    auto w = new_upload(id);
    ASSERT_TRUE(w->append(bytes("abc")));
    ASSERT_TRUE(w->suspend());
  }
  std::ofstream(root_ / "uploads" / id / "state", std::ios::trunc) << "garbage";
  auto w = store_->resume(id);
  ASSERT_TRUE(w);
  EXPECT_EQ((*w)->size(), 3u);
  EXPECT_TRUE((*w)->commit(Digest::of(std::string_view("abc"))));
}

TEST_F(FsBlobStoreTest, OneRequestAtATimePerSession) {
  std::string id;
  auto w = new_upload(id);
  auto second = store_->resume(id);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(FsBlobStoreTest, HostileUploadIdsAreRefused) {
  for (const char* bad : {"../../etc", "..", "", "a/b", "00000000-0000-0000-0000-00000000000/"}) {
    EXPECT_FALSE(store_->start_upload(bad)) << bad;
    auto w = store_->resume(bad);
    ASSERT_FALSE(w) << bad;
    EXPECT_EQ(w.error().code, ErrorCode::kNotFound);
  }
}

TEST_F(FsBlobStoreTest, RangesAndDedup) {
  for (int i = 0; i < 2; ++i) {  // the same content twice: one stored copy
    std::string id;
    auto w = new_upload(id);
    ASSERT_TRUE(w->append(bytes("0123456789")));
    ASSERT_TRUE(w->commit(Digest::of(std::string_view("0123456789"))));
  }
  Digest d = Digest::of(std::string_view("0123456789"));
  auto src = store_->open(d, {3, 4});
  ASSERT_TRUE(src);
  EXPECT_EQ((*src)->length(), 4u);
  auto region = (*src)->file_region();
  ASSERT_TRUE(region);
  EXPECT_EQ(region->offset, 3u);
  EXPECT_FALSE(store_->open(d, {11, 1}));
  ASSERT_TRUE(store_->remove(d));
  EXPECT_EQ(store_->stat(d).error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace custody::storage
