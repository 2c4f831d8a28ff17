// CustodyLog over a real SQLite store: witness cosignatures are events
// committed with the checkpoint they are merged into, and the Checkpointer
// signs when enough events or enough time have passed, and no more often.
#include "audit/log_service.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "audit/encoding.h"
#include "common/ids.h"
#include "jobs/checkpointer.h"
#include "meta/sqlite_meta_store.h"

namespace custody::audit {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class LogServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("custody-logsvc-" + random_uuid());
    fs::create_directories(dir_);
    auto s = meta::SqliteMetaStore::open(dir_ / "meta.db", 4);
    ASSERT_TRUE(s);
    store_ = std::move(*s);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void append(int n) {
    ASSERT_TRUE(store_->transact([&](meta::Txn& t) -> Status {
      for (int i = 0; i < n; ++i) {
        auto r = t.append_event(Event{.action = "blob.push", .repository = "r", .digest = "sha256:x"});
        if (!r) return std::unexpected(r.error());
      }
      return {};
    }));
  }

  int64_t log_size() {
    int64_t size = -1;
    EXPECT_TRUE(store_->read([&](meta::Txn& t) -> Status {
      size = t.log_size().value();
      return {};
    }));
    return size;
  }

  std::vector<int64_t> checkpoint_sizes() {
    std::vector<int64_t> sizes;
    EXPECT_TRUE(store_->read([&](meta::Txn& t) -> Status {
      auto recent = t.recent_checkpoints(1000);
      if (!recent) return std::unexpected(recent.error());
      for (const auto& c : *recent) sizes.push_back(c.size);
      return {};
    }));
    return sizes;
  }

  Event event_at(int64_t seq) {
    Event e;
    EXPECT_TRUE(store_->read([&](meta::Txn& t) -> Status {
      auto entries = t.log_entries(seq - 1, 1).value();
      e = decode_event(entries.at(0)).value();
      return {};
    }));
    return e;
  }

  fs::path dir_;
  std::unique_ptr<meta::SqliteMetaStore> store_;
};

NoteSigner signer(std::string_view name, SignatureType type = SignatureType::kEd25519) {
  return NoteSigner::generate(name, type).value();
}

TEST_F(LogServiceTest, AcceptedCosignatureIsAnEventInTheSameTransaction) {
  NoteSigner witness = signer("witness.test", SignatureType::kCosignatureV1);
  NoteSigner stranger = signer("stranger.test", SignatureType::kCosignatureV1);
  CustodyLog log(*store_, signer("custody.test/log"), WitnessPolicy{{witness.verifier()}, 1});
  append(3);
  ASSERT_EQ(log.checkpoint_now().value(), std::optional<int64_t>(3));
  auto latest = log.latest_checkpoint().value();
  EXPECT_FALSE(log.published_checkpoint());  // not witnessed yet

  auto cosigned = cosign_checkpoint(latest.note, witness, 1767000000).value();
  ASSERT_TRUE(log.add_cosignature(cosigned, "10.0.0.9:4444"));
  ASSERT_EQ(log_size(), 4);
  Event e = event_at(4);
  EXPECT_EQ(e.action, "checkpoint.cosign");
  EXPECT_EQ(e.actor, "witness.test");
  char key_id[16];
  std::snprintf(key_id, sizeof key_id, "%08x", witness.verifier().key_id());
  EXPECT_EQ(e.auth, std::string("cosignature:") + key_id);
  EXPECT_EQ(e.source, "10.0.0.9:4444");
  EXPECT_GT(e.time_ms, 0);
  auto detail = nlohmann::json::parse(e.detail_json);
  EXPECT_EQ(detail["size"], 3);
  EXPECT_EQ(detail["timestamp"], 1767000000);
  auto cp = Checkpoint::parse(Note::parse(latest.note).value().text).value();
  EXPECT_EQ(detail["root"], base64_encode(cp.root().bytes()));

  // The checkpoint of size 3 is now published, with the cosignature merged.
  auto published = log.published_checkpoint().value();
  EXPECT_EQ(published.size, 3);
  EXPECT_NE(published.note.find("— witness.test "), std::string::npos);

  // Posting the same cosignature again changes nothing and logs nothing.
  ASSERT_TRUE(log.add_cosignature(cosigned, "10.0.0.9:4444"));
  EXPECT_EQ(log_size(), 4);

  // Refused cosignatures log nothing either.
  auto by_stranger = cosign_checkpoint(latest.note, stranger, 1767000001).value();
  EXPECT_FALSE(log.add_cosignature(by_stranger));
  EXPECT_FALSE(log.add_cosignature(latest.note));  // no cosignature at all
  NoteSigner other_log = signer("custody.test/log");
  auto forged = sign_checkpoint(cp, other_log).value();
  EXPECT_FALSE(log.add_cosignature(cosign_checkpoint(forged, witness, 1767000002).value()));
  EXPECT_EQ(log_size(), 4);

  // The cosign event is itself logged, so the next checkpoint covers it,
  // and a fresh cosignature of that one is a new event.
  ASSERT_EQ(log.checkpoint_now().value(), std::optional<int64_t>(4));
  auto next = cosign_checkpoint(log.latest_checkpoint().value().note, witness, 1767000003).value();
  ASSERT_TRUE(log.add_cosignature(next));
  EXPECT_EQ(log_size(), 5);
  EXPECT_EQ(nlohmann::json::parse(event_at(5).detail_json)["size"], 4);
  EXPECT_EQ(log.published_checkpoint().value().size, 4);
}

TEST_F(LogServiceTest, CosignatureOfAnUnknownCheckpointIsRefused) {
  NoteSigner witness = signer("witness.test", SignatureType::kCosignatureV1);
  NoteSigner key = signer("custody.test/log");
  CustodyLog log(*store_, key, WitnessPolicy{{witness.verifier()}, 1});
  append(2);
  ASSERT_TRUE(log.checkpoint_now());
  // Signed by the log's own key, but a size this log never checkpointed.
  auto made_up = Checkpoint::create("custody.test/log", 7, Hash{}).value();
  auto note = cosign_checkpoint(sign_checkpoint(made_up, key).value(), witness, 1).value();
  auto r = log.add_cosignature(note);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("never published"), std::string::npos) << r.error().message;
  EXPECT_EQ(log_size(), 2);
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

TEST_F(LogServiceTest, CheckpointerSignsAfterEnoughEventsLongBeforeTheInterval) {
  CustodyLog log(*store_, signer("custody.test/log"), {});
  jobs::Checkpointer cp(log, *store_, 60s, 5);
  cp.start();
  EXPECT_EQ(checkpoint_sizes(), std::vector<int64_t>{0});  // the empty tree, signed at start
  append(4);
  std::this_thread::sleep_for(600ms);  // several polls: 4 < 5 events, 60 s not passed
  EXPECT_EQ(checkpoint_sizes(), std::vector<int64_t>{0});
  auto started = std::chrono::steady_clock::now();
  append(1);
  ASSERT_TRUE(wait_until([&] { return checkpoint_sizes().front() == 5; }, 10s)) << checkpoint_sizes().front();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  append(3);
  std::this_thread::sleep_for(600ms);
  EXPECT_EQ(checkpoint_sizes(), (std::vector<int64_t>{5, 0}));
  append(2);
  ASSERT_TRUE(wait_until([&] { return checkpoint_sizes().front() == 10; }, 10s));
  // A burst of many events still makes one checkpoint per poll, not one per 5 events.
  append(50);
  ASSERT_TRUE(wait_until([&] { return checkpoint_sizes().front() == 60; }, 10s));
  EXPECT_EQ(checkpoint_sizes(), (std::vector<int64_t>{60, 10, 5, 0}));
  // Stopping signs what was appended since, once.
  append(1);
  cp.stop();
  EXPECT_EQ(checkpoint_sizes(), (std::vector<int64_t>{61, 60, 10, 5, 0}));
  cp.stop();
  EXPECT_EQ(checkpoint_sizes().size(), 5u);
}

TEST_F(LogServiceTest, CheckpointerSignsAfterTheIntervalAndNotWhileIdle) {
  CustodyLog log(*store_, signer("custody.test/log"), {});
  append(1);
  jobs::Checkpointer cp(log, *store_, 300ms, 1000);
  cp.start();
  EXPECT_EQ(checkpoint_sizes(), std::vector<int64_t>{1});
  append(2);
  ASSERT_TRUE(wait_until([&] { return checkpoint_sizes().front() == 3; }, 10s));
  // Idle: nothing new to sign, so nothing is signed.
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(checkpoint_sizes(), (std::vector<int64_t>{3, 1}));
  // A steady trickle of events for 1.5 s gets about one checkpoint per
  // interval, never one per event.
  auto until = std::chrono::steady_clock::now() + 1500ms;
  int appended = 0;
  while (std::chrono::steady_clock::now() < until) {
    append(1);
    ++appended;
    std::this_thread::sleep_for(15ms);
  }
  cp.stop();
  auto sizes = checkpoint_sizes();
  EXPECT_EQ(sizes.front(), 3 + appended);
  size_t during = sizes.size() - 2;  // made during the trickle, including the one on stop
  EXPECT_GE(during, 2u);
  EXPECT_LE(during, 1500 / 300 + 2u) << appended << " events";
  EXPECT_GT(static_cast<size_t>(appended), 3 * during);
}

}  // namespace
}  // namespace custody::audit
