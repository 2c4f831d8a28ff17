// Thin RAII wrappers over the SQLite C API, private to meta/.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"

namespace custody::meta {

class Statement {
 public:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Statement(Statement&& o) noexcept : stmt_(std::exchange(o.stmt_, nullptr)) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Binds by 1-based position. Strings are copied (SQLITE_TRANSIENT).
  Statement& bind(int i, std::string_view v);
  Statement& bind(int i, int64_t v);
  Statement& bind_null(int i);
  Statement& bind_opt(int i, const std::optional<std::string>& v);
  // Returns true when a row is available, false when done.
  Result<bool> step();
  Status run();  // steps to completion, ignoring rows
  void reset();

  int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string text(int col) const;
  std::optional<std::string> opt_text(int col) const;
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

 private:
  sqlite3_stmt* stmt_;
};

// One SQLite connection with its own cache of prepared statements.
class Connection {
 public:
  static Result<std::unique_ptr<Connection>> open(const std::string& path);
  ~Connection();

  Status exec(std::string_view sql);
  // Returns a cached, reset statement for `sql` (a string literal).
  Result<Statement*> prepare(const char* sql);
  // Resets every cached statement. A statement left on a row keeps its read
  // snapshot open past COMMIT, and the connection's next BEGIN IMMEDIATE
  // then fails at once with SQLITE_BUSY_SNAPSHOT ("database is locked").
  void reset_statements();
  int64_t changes() const { return sqlite3_changes64(db_); }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::map<const char*, std::unique_ptr<Statement>> cache_;
};

}  // namespace custody::meta
