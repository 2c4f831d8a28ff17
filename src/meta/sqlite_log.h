// The custody log inside a SQLite transaction: event rows, their Merkle
// tree nodes and checkpoints. Private to meta/ (SqliteTxn delegates here).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "audit/merkle.h"
#include "meta/meta_store.h"

namespace custody::meta {

class Connection;

// Complete-subtree hashes in the log_nodes table.
class SqliteHashStore final : public audit::HashStore {
 public:
  explicit SqliteHashStore(Connection& c) : c_(c) {}
  Result<audit::Hash> get(audit::NodeId id) override;
  Status put(audit::NodeId id, const audit::Hash& hash) override;

 private:
  Connection& c_;
};

// One transaction's view of the log. The tree is opened lazily, once, so
// several events appended by one transaction cost one open.
class SqliteLog {
 public:
  explicit SqliteLog(Connection& c) : c_(c), nodes_(c) {}

  Result<int64_t> append(const Event& e);
  Result<int64_t> size();
  Result<std::vector<std::string>> entries(int64_t first, uint32_t count);
  Result<std::vector<Event>> events_after(int64_t seq, uint32_t limit);
  Result<std::vector<Event>> events_about(const std::string& digest);
  audit::HashStore& nodes() { return nodes_; }
  Status put_checkpoint(const StoredCheckpoint& c);
  Result<std::optional<StoredCheckpoint>> latest_checkpoint();
  Result<std::optional<StoredCheckpoint>> checkpoint_at(int64_t size);
  Result<std::vector<StoredCheckpoint>> recent_checkpoints(uint32_t limit);

 private:
  Connection& c_;
  SqliteHashStore nodes_;
  std::optional<audit::MerkleTree> tree_;
};

}  // namespace custody::meta
