// SqliteMetaStore: the embedded MetaStore (SQLite in WAL mode).
//
// Connections come from a small pool; write transactions use BEGIN
// IMMEDIATE so that writers queue on SQLite's lock instead of failing
// half-way with SQLITE_BUSY.
//
// Group commit (as LevelDB's DBImpl::Write): concurrent transact() calls
// queue up, and the oldest, the leader, runs the whole queue in one SQLite
// transaction, each caller's function inside its own SAVEPOINT, and
// commits once. A function that fails rolls back to its savepoint alone,
// so every caller still sees all-or-nothing; the durable commit (the
// fsync) is shared, which is what lets many small changes and their log
// events commit faster than the disk can sync one at a time.
#pragma once

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>

#include "meta/meta_store.h"

namespace custody::meta {

class Connection;

class SqliteMetaStore final : public MetaStore {
 public:
  // Opens (creating and migrating if needed) the database at `path`.
  static Result<std::unique_ptr<SqliteMetaStore>> open(const std::filesystem::path& path,
                                                       size_t pool_size = 8);
  ~SqliteMetaStore() override;

  Status transact(const TxnFn& fn) override;
  Status read(const TxnFn& fn) override;

 private:
  SqliteMetaStore() = default;
  std::unique_ptr<Connection> acquire();
  void release(std::unique_ptr<Connection> c);
  Status run(const char* begin, const TxnFn& fn);

  struct Writer;
  // Runs `batch` in one transaction: sets each writer's result.
  void commit_batch(const std::vector<Writer*>& batch);

  std::mutex write_mu_;
  std::deque<Writer*> writers_;  // guarded by write_mu_; the front one leads

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

}  // namespace custody::meta
