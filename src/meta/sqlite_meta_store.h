// SqliteMetaStore: the embedded MetaStore (SQLite in WAL mode).
//
// Connections come from a small pool; write transactions use BEGIN
// IMMEDIATE so that writers queue on SQLite's lock instead of failing
// half-way with SQLITE_BUSY.
#pragma once

#include <condition_variable>
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

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

}  // namespace custody::meta
