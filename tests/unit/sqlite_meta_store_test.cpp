#include "meta/sqlite_meta_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "common/ids.h"

namespace custody::meta {
namespace {

namespace fs = std::filesystem;

Digest D(std::string_view s) { return Digest::of(s); }

class SqliteMetaStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("custody-meta-" + random_uuid());
    fs::create_directories(dir_);
    auto s = SqliteMetaStore::open(dir_ / "meta.db", 4);
    ASSERT_TRUE(s);
    store_ = std::move(*s);
  }
  void TearDown() override { fs::remove_all(dir_); }

  ManifestRecord manifest(const std::string& repo, std::string body) {
    ManifestRecord m;
    m.repository = repo;
    m.digest = D(body);
    m.media_type = "application/vnd.oci.image.manifest.v1+json";
    m.body = std::move(body);
    return m;
  }

  fs::path dir_;
  std::unique_ptr<SqliteMetaStore> store_;
};

TEST_F(SqliteMetaStoreTest, FailedTransactionLeavesNoTrace) {
  auto s = store_->transact([&](Txn& t) -> Status {
    EXPECT_TRUE(t.put_blob(D("b"), 1));
    EXPECT_TRUE(t.link_blob("r", D("b")));
    EXPECT_TRUE(t.append_event(Event{.action = "blob.push", .repository = "r"}));
    return fail(ErrorCode::kInvalidArgument, "changed my mind");
  });
  ASSERT_FALSE(s);
  ASSERT_TRUE(store_->read([&](Txn& t) -> Status {
    EXPECT_FALSE(*t.repository_exists("r"));
    EXPECT_FALSE(*t.linked_blob_size("r", D("b")));
    EXPECT_TRUE(t.events_after(0, 10)->empty());
    return {};
  }));
}

TEST_F(SqliteMetaStoreTest, ManifestsTagsAndEventsCommitTogether) {
  ASSERT_TRUE(store_->transact([&](Txn& t) -> Status {
    EXPECT_TRUE(*t.put_manifest(manifest("r", "m1"), {}));
    EXPECT_FALSE(*t.put_manifest(manifest("r", "m1"), {}));  // same digest: no change
    EXPECT_FALSE(*t.set_tag("r", "v1", D("m1")));
    EXPECT_TRUE(t.append_event(Event{.action = "manifest.push", .repository = "r"}));
    return {};
  }));
  ASSERT_TRUE(store_->transact([&](Txn& t) -> Status {
    EXPECT_TRUE(*t.put_manifest(manifest("r", "m2"), {}));
    auto before = t.set_tag("r", "v1", D("m2"));
    EXPECT_EQ(**before, D("m1"));
    return {};
  }));
  ASSERT_TRUE(store_->read([&](Txn& t) -> Status {
    auto m = t.get_tagged_manifest("r", "v1");
    EXPECT_EQ((*m)->body, "m2");
    auto events = t.events_after(0, 10);
    EXPECT_EQ(events->size(), 1u);
    EXPECT_EQ((*events)[0].seq, 1);
    return {};
  }));
}

TEST_F(SqliteMetaStoreTest, DeletingAManifestRemovesItsTagsAndReferences) {
  ASSERT_TRUE(store_->transact([&](Txn& t) -> Status {
    EXPECT_TRUE(t.put_blob(D("layer"), 5));
    EXPECT_TRUE(t.link_blob("r", D("layer")));
    EXPECT_TRUE(*t.put_manifest(manifest("r", "m"), {{D("layer"), ManifestReference::Kind::kBlob}}));
    EXPECT_TRUE(t.set_tag("r", "a", D("m")));
    EXPECT_TRUE(t.set_tag("r", "b", D("m")));
    auto tags = t.delete_manifest("r", D("m"));
    EXPECT_EQ(*tags, (std::vector<std::string>{"a", "b"}));
    EXPECT_TRUE(t.list_tags("r", "", 10)->empty());
    EXPECT_FALSE(*t.get_manifest("r", D("m")));
    return {};
  }));
}

TEST_F(SqliteMetaStoreTest, ReferrersAndPagination) {
  ASSERT_TRUE(store_->transact([&](Txn& t) -> Status {
    auto ref = manifest("r", "sig");
    ref.subject = D("subject");
    ref.artifact_type = "application/example";
    EXPECT_TRUE(*t.put_manifest(ref, {}));
    EXPECT_TRUE(*t.put_manifest(manifest("r", "x"), {}));
    for (const char* tag : {"c", "a", "b"}) EXPECT_TRUE(t.set_tag("r", tag, D("x")));
    return {};
  }));
  ASSERT_TRUE(store_->read([&](Txn& t) -> Status {
    auto refs = t.referrers("r", D("subject"));
    EXPECT_EQ(refs->size(), 1u);
    EXPECT_EQ(*(*refs)[0].artifact_type, "application/example");
    EXPECT_TRUE(t.referrers("other", D("subject"))->empty());
    EXPECT_EQ(*t.list_tags("r", "", 2), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(*t.list_tags("r", "b", 2), (std::vector<std::string>{"c"}));
    return {};
  }));
}

TEST_F(SqliteMetaStoreTest, ConcurrentWritersAllCommit) {
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < 25; ++j) {
        auto s = store_->transact([&](Txn& t) -> Status {
          auto e = t.append_event(Event{.action = "test", .repository = std::to_string(i)});
          if (!e) return std::unexpected(e.error());
          return {};
        });
        EXPECT_TRUE(s) << s.error().message;
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(store_->read([&](Txn& t) -> Status {
    EXPECT_EQ(t.totals()->events, 200);
    return {};
  }));
}

TEST_F(SqliteMetaStoreTest, GroupCommitIsolatesFailures) {
  // Many writers at once are committed in shared transactions; a writer
  // that fails must leave nothing, the others everything, and the tree
  // over the log must match its entries exactly.
  std::atomic<int> committed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < 40; ++j) {
        bool fails = (i + j) % 3 == 0;
        std::string repo = "r" + std::to_string(i) + "-" + std::to_string(j);
        auto s = store_->transact([&](Txn& t) -> Status {
          if (auto u = t.create_upload({repo, repo, 1}); !u) return u;
          auto e = t.append_event(Event{.action = "test", .repository = repo});
          if (!e) return std::unexpected(e.error());
          if (fails) return fail(ErrorCode::kInvalidArgument, "refused on purpose");
          return {};
        });
        EXPECT_EQ(s.has_value(), !fails);
        if (s) ++committed;
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(store_->read([&](Txn& t) -> Status {
    auto size = t.log_size();
    EXPECT_EQ(*size, committed.load());
    auto entries = t.log_entries(0, static_cast<uint32_t>(*size));
    std::vector<audit::Hash> leaves;
    for (const auto& e : *entries) leaves.push_back(audit::leaf_hash(e));
    auto tree = audit::MerkleTree::open(t.log_nodes(), static_cast<uint64_t>(*size));
    EXPECT_TRUE(tree);
    EXPECT_EQ(tree->root(), audit::root_of(leaves));
    auto events = t.events_after(0, 1000);
    for (size_t k = 0; k < events->size(); ++k) {
      EXPECT_EQ((*events)[k].seq, static_cast<int64_t>(k + 1));
      std::string repo = (*events)[k].repository;
      auto u = t.find_upload(repo);  // each committed event has its upload, and only those
      EXPECT_TRUE(*u) << repo;
    }
    for (int i = 0; i < 8; ++i)
      for (int j = 0; j < 40; ++j) {
        std::string repo = "r" + std::to_string(i) + "-" + std::to_string(j);
        EXPECT_EQ(t.find_upload(repo)->has_value(), (i + j) % 3 != 0) << repo;
      }
    return {};
  }));
}

TEST_F(SqliteMetaStoreTest, NestedTransactionIsAnErrorNotADeadlock) {
  Status inner;
  auto outer = store_->transact([&](Txn&) -> Status {
    inner = store_->transact([](Txn&) -> Status { return {}; });
    return {};
  });
  EXPECT_TRUE(outer);
  ASSERT_FALSE(inner);
  EXPECT_EQ(inner.error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(SqliteMetaStoreTest, ReopenKeepsDataAndSchema) {
  ASSERT_TRUE(store_->transact([&](Txn& t) { return t.create_upload({"u1", "r", 1}); }));
  store_.reset();
  auto s = SqliteMetaStore::open(dir_ / "meta.db", 2);
  ASSERT_TRUE(s);
  ASSERT_TRUE((*s)->read([&](Txn& t) -> Status {
    auto u = t.find_upload("u1");
    EXPECT_EQ((*u)->repository, "r");
    return {};
  }));
}

}  // namespace
}  // namespace custody::meta
