#include "meta/sqlite_log.h"

#include <fmt/format.h>

#include <cstring>

#include "common/time.h"
#include "meta/sqlite.h"

namespace custody::meta {
namespace {

Event event_from(const Statement& s) {
  return Event{s.int64(0), s.int64(1), s.text(2), s.text(3), s.text(4),
               s.text(5),  s.text(6),  s.text(7), s.text(8), s.text(9)};
}

Result<std::vector<Event>> collect_events(Statement& st) {
  std::vector<Event> out;
  for (;;) {
    auto row = st.step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return out;
    out.push_back(event_from(st));
  }
}

Result<std::optional<StoredCheckpoint>> one_checkpoint(Statement& st) {
  auto row = st.step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<StoredCheckpoint>();
  return std::optional(StoredCheckpoint{st.int64(0), st.int64(1), st.text(2)});
}

}  // namespace

Result<audit::Hash> SqliteHashStore::get(audit::NodeId id) {
  auto st = c_.prepare("SELECT hash FROM log_nodes WHERE level = ?1 AND idx = ?2");
  if (!st) return std::unexpected(st.error());
  (*st)->bind(1, static_cast<int64_t>(id.level)).bind(2, static_cast<int64_t>(id.index));
  auto row = (*st)->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return fail(ErrorCode::kNotFound, fmt::format("log node {}/{} missing", id.level, id.index));
  std::string raw = (*st)->text(0);
  return audit::Hash::from_bytes(std::span(reinterpret_cast<const uint8_t*>(raw.data()), raw.size()));
}

Status SqliteHashStore::put(audit::NodeId id, const audit::Hash& hash) {
  auto st = c_.prepare("INSERT INTO log_nodes(level, idx, hash) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING");
  if (!st) return std::unexpected(st.error());
  auto bytes = hash.bytes();
  (*st)->bind(1, static_cast<int64_t>(id.level)).bind(2, static_cast<int64_t>(id.index));
  (*st)->bind(3, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  if (auto s = (*st)->run(); !s) return s;
  if (c_.changes() > 0) return {};
  auto existing = get(id);
  if (!existing) return std::unexpected(existing.error());
  if (*existing != hash)
    return fail(ErrorCode::kDataLoss, fmt::format("log node {}/{} already holds another hash", id.level, id.index));
  return {};
}

Result<int64_t> SqliteLog::size() {
  auto st = c_.prepare("SELECT coalesce(max(seq), 0) FROM events");
  if (!st) return std::unexpected(st.error());
  if (auto r = (*st)->step(); !r) return std::unexpected(r.error());
  return (*st)->int64(0);
}

Result<int64_t> SqliteLog::append(const Event& e) {
  if (!tree_) {
    auto n = size();
    if (!n) return std::unexpected(n.error());
    auto tree = audit::MerkleTree::open(nodes_, static_cast<uint64_t>(*n));
    if (!tree) return std::unexpected(tree.error());
    tree_ = std::move(*tree);
  }
  Event stamped = e;
  stamped.seq = static_cast<int64_t>(tree_->size()) + 1;
  if (stamped.time_ms == 0) stamped.time_ms = now_unix_ms();
  auto entry = audit::encode_event(stamped);
  if (!entry) return std::unexpected(entry.error());
  auto st = c_.prepare(
      "INSERT INTO events(seq, time_ms, actor, auth, source, action, repository, digest, tag, detail, entry) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
  if (!st) return std::unexpected(st.error());
  (*st)->bind(1, stamped.seq).bind(2, stamped.time_ms).bind(3, stamped.actor).bind(4, stamped.auth);
  (*st)->bind(5, stamped.source).bind(6, stamped.action).bind(7, stamped.repository).bind(8, stamped.digest);
  (*st)->bind(9, stamped.tag).bind(10, stamped.detail_json).bind(11, *entry);
  if (auto s = (*st)->run(); !s) return std::unexpected(s.error());
  if (auto r = tree_->append(audit::leaf_hash(*entry)); !r) return std::unexpected(r.error());
  return stamped.seq;
}

Result<std::vector<std::string>> SqliteLog::entries(int64_t first, uint32_t count) {
  auto st = c_.prepare("SELECT seq, entry FROM events WHERE seq > ?1 AND seq <= ?2 ORDER BY seq");
  if (!st) return std::unexpected(st.error());
  (*st)->bind(1, first).bind(2, first + static_cast<int64_t>(count));
  std::vector<std::string> out;
  for (;;) {
    auto row = (*st)->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    // Rows are never deleted; a gap means the database was edited behind
    // the log's back, and serving around it would hide that.
    int64_t expected = first + static_cast<int64_t>(out.size()) + 1;
    if ((*st)->int64(0) != expected)
      return fail(ErrorCode::kDataLoss, fmt::format("event seq {} is missing from the log's table", expected));
    out.push_back((*st)->text(1));
  }
  if (out.size() != count) return fail(ErrorCode::kOutOfRange, "log entries out of range");
  return out;
}

Result<std::vector<Event>> SqliteLog::events_after(int64_t seq, uint32_t limit) {
  auto st = c_.prepare("SELECT seq, time_ms, actor, auth, source, action, repository, digest, tag, detail "
                       "FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2");
  if (!st) return std::unexpected(st.error());
  (*st)->bind(1, seq).bind(2, static_cast<int64_t>(limit));
  return collect_events(**st);
}

Result<std::vector<Event>> SqliteLog::events_about(const std::string& digest) {
  auto st = c_.prepare("SELECT seq, time_ms, actor, auth, source, action, repository, digest, tag, detail "
                       "FROM events WHERE digest = ?1 OR json_extract(detail, '$.subject') = ?1 ORDER BY seq");
  if (!st) return std::unexpected(st.error());
  (*st)->bind(1, digest);
  return collect_events(**st);
}

Status SqliteLog::put_checkpoint(const StoredCheckpoint& c) {
  auto st = c_.prepare("INSERT OR REPLACE INTO checkpoints(size, time_ms, note) VALUES (?1, ?2, ?3)");
  if (!st) return std::unexpected(st.error());
  (*st)->bind(1, c.size).bind(2, c.time_ms).bind(3, c.note);
  return (*st)->run();
}

Result<std::optional<StoredCheckpoint>> SqliteLog::latest_checkpoint() {
  auto st = c_.prepare("SELECT size, time_ms, note FROM checkpoints ORDER BY size DESC LIMIT 1");
  if (!st) return std::unexpected(st.error());
  return one_checkpoint(**st);
}

Result<std::optional<StoredCheckpoint>> SqliteLog::checkpoint_at(int64_t size) {
  auto st = c_.prepare("SELECT size, time_ms, note FROM checkpoints WHERE size = ?1");
  if (!st) return std::unexpected(st.error());
  (*st)->bind(1, size);
  return one_checkpoint(**st);
}

Result<std::vector<StoredCheckpoint>> SqliteLog::recent_checkpoints(uint32_t limit) {
  auto st = c_.prepare("SELECT size, time_ms, note FROM checkpoints ORDER BY size DESC LIMIT ?1");
  if (!st) return std::unexpected(st.error());
  (*st)->bind(1, static_cast<int64_t>(limit));
  std::vector<StoredCheckpoint> out;
  for (;;) {
    auto row = (*st)->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return out;
    out.push_back({(*st)->int64(0), (*st)->int64(1), (*st)->text(2)});
  }
}

}  // namespace custody::meta
