#include "meta/sqlite_meta_store.h"

#include <fmt/format.h>

#include "common/time.h"
#include "meta/schema.h"
#include "meta/sqlite.h"
#include "meta/sqlite_identity.h"
#include "meta/sqlite_log.h"

namespace custody::meta {
namespace {

const char* kind_name(ManifestReference::Kind k) {
  return k == ManifestReference::Kind::kBlob ? "blob" : "manifest";
}

std::optional<Digest> opt_digest(const std::optional<std::string>& s) {
  if (!s) return std::nullopt;
  auto d = Digest::parse(*s);
  return d ? std::optional<Digest>(*d) : std::nullopt;
}

class SqliteTxn final : public Txn {
 public:
  explicit SqliteTxn(Connection& c) : c_(c), log_(c), identity_(c) {}

  Result<bool> repository_exists(const std::string& name) override {
    auto st = c_.prepare("SELECT 1 FROM repositories WHERE name = ?1");
    if (!st) return std::unexpected(st.error());
    (*st)->bind(1, name);
    return (*st)->step();
  }

  Result<std::vector<std::string>> list_repositories(const std::string& after, uint32_t limit) override {
    auto st = c_.prepare("SELECT name FROM repositories WHERE name > ?1 ORDER BY name LIMIT ?2");
    if (!st) return std::unexpected(st.error());
    (*st)->bind(1, after).bind(2, static_cast<int64_t>(limit));
    return collect_strings(**st);
  }

  Status put_blob(const Digest& digest, uint64_t size) override {
    auto st = c_.prepare("INSERT OR IGNORE INTO blobs(digest, size, created_ms) VALUES (?1, ?2, ?3)");
    if (!st) return std::unexpected(st.error());
    (*st)->bind(1, digest.str()).bind(2, static_cast<int64_t>(size)).bind(3, now_unix_ms());
    return (*st)->run();
  }

  Result<std::optional<uint64_t>> linked_blob_size(const std::string& repo, const Digest& digest) override {
    auto st = c_.prepare(
        "SELECT b.size FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest "
        "WHERE rb.repository = ?1 AND rb.digest = ?2");
    if (!st) return std::unexpected(st.error());
    (*st)->bind(1, repo).bind(2, digest.str());
    auto row = (*st)->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return std::optional<uint64_t>();
    return std::optional<uint64_t>(static_cast<uint64_t>((*st)->int64(0)));
  }

  Status link_blob(const std::string& repo, const Digest& digest) override {
    if (auto s = ensure_repository(repo); !s) return s;
    auto st = c_.prepare(
        "INSERT OR IGNORE INTO repository_blobs(repository, digest, created_ms) VALUES (?1, ?2, ?3)");
    if (!st) return std::unexpected(st.error());
    (*st)->bind(1, repo).bind(2, digest.str()).bind(3, now_unix_ms());
    return (*st)->run();
  }

  Result<bool> unlink_blob(const std::string& repo, const Digest& digest) override {
    auto st = c_.prepare("DELETE FROM repository_blobs WHERE repository = ?1 AND digest = ?2");
    if (!st) return std::unexpected(st.error());
    (*st)->bind(1, repo).bind(2, digest.str());
    if (auto s = (*st)->run(); !s) return std::unexpected(s.error());
    return c_.changes() > 0;
  }

  Result<bool> put_manifest(const ManifestRecord& m, const std::vector<ManifestReference>& refs) override {
    if (auto s = ensure_repository(m.repository); !s) return std::unexpected(s.error());
    auto st = c_.prepare(
        "INSERT OR IGNORE INTO manifests(repository, digest, media_type, artifact_type, subject, annotations, "
        "size, body, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    if (!st) return std::unexpected(st.error());
    (*st)->bind(1, m.repository).bind(2, m.digest.str()).bind(3, m.media_type).bind_opt(4, m.artifact_type);
    (*st)->bind_opt(5, m.subject ? std::optional(m.subject->str()) : std::nullopt);
    (*st)->bind_opt(6, m.annotations_json).bind(7, static_cast<int64_t>(m.body.size())).bind(8, m.body);
    (*st)->bind(9, m.created_ms ? m.created_ms : now_unix_ms());
    if (auto s = (*st)->run(); !s) return std::unexpected(s.error());
    if (c_.changes() == 0) return false;
    auto ref = c_.prepare(
        "INSERT OR IGNORE INTO manifest_references(repository, manifest, child, kind) VALUES (?1, ?2, ?3, ?4)");
    if (!ref) return std::unexpected(ref.error());
    for (const auto& r : refs) {
      (*ref)->reset();
      (*ref)->bind(1, m.repository).bind(2, m.digest.str()).bind(3, r.digest.str()).bind(4, kind_name(r.kind));
      if (auto s = (*ref)->run(); !s) return std::unexpected(s.error());
    }
    return true;
  }

  Result<std::optional<ManifestRecord>> get_manifest(const std::string& repo, const Digest& digest) override {
    auto st = c_.prepare(
        "SELECT repository, digest, media_type, artifact_type, subject, annotations, body, created_ms "
        "FROM manifests WHERE repository = ?1 AND digest = ?2");
    if (!st) return std::unexpected(st.error());
    (*st)->bind(1, repo).bind(2, digest.str());
    return one_manifest(**st);
  }

  Result<std::optional<ManifestRecord>> get_tagged_manifest(const std::string& repo,
                                                            const std::string& tag) override {
    auto st = c_.prepare(
        "SELECT m.repository, m.digest, m.media_type, m.artifact_type, m.subject, m.annotations, m.body, "
        "m.created_ms FROM tags t JOIN manifests m ON m.repository = t.repository AND m.digest = t.digest "
        "WHERE t.repository = ?1 AND t.name = ?2");
    if (!st) return std::unexpected(st.error());
    (*st)->bind(1, repo).bind(2, tag);
    return one_manifest(**st);
  }

  Result<std::vector<std::string>> delete_manifest(const std::string& repo, const Digest& digest) override {
    auto tags = c_.prepare("SELECT name FROM tags WHERE repository = ?1 AND digest = ?2 ORDER BY name");
    if (!tags) return std::unexpected(tags.error());
    (*tags)->bind(1, repo).bind(2, digest.str());
    auto names = collect_strings(**tags);
    if (!names) return names;
    auto del_tags = c_.prepare("DELETE FROM tags WHERE repository = ?1 AND digest = ?2");
    if (!del_tags) return std::unexpected(del_tags.error());
    (*del_tags)->bind(1, repo).bind(2, digest.str());
    if (auto s = (*del_tags)->run(); !s) return std::unexpected(s.error());
    auto del = c_.prepare("DELETE FROM manifests WHERE repository = ?1 AND digest = ?2");
    if (!del) return std::unexpected(del.error());
    (*del)->bind(1, repo).bind(2, digest.str());
    if (auto s = (*del)->run(); !s) return std::unexpected(s.error());
    return names;
  }

  Result<std::vector<ManifestRecord>> referrers(const std::string& repo, const Digest& subject) override {
    auto st = c_.prepare(
        "SELECT repository, digest, media_type, artifact_type, subject, annotations, body, created_ms "
        "FROM manifests WHERE repository = ?1 AND subject = ?2 ORDER BY created_ms, digest");
    if (!st) return std::unexpected(st.error());
    (*st)->bind(1, repo).bind(2, subject.str());
    std::vector<ManifestRecord> out;
    for (;;) {
      auto row = (*st)->step();
      if (!row) return std::unexpected(row.error());
      if (!*row) return out;
      out.push_back(manifest_from(**st));
    }
  }

  Result<std::optional<Digest>> resolve_tag(const std::string& repo, const std::string& tag) override {
    auto st = c_.prepare("SELECT digest FROM tags WHERE repository = ?1 AND name = ?2");
    if (!st) return std::unexpected(st.error());
    (*st)->bind(1, repo).bind(2, tag);
    auto row = (*st)->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return std::optional<Digest>();
    return opt_digest((*st)->text(0));
  }

  Result<std::optional<Digest>> set_tag(const std::string& repo, const std::string& tag,
                                        const Digest& digest) override {
    auto before = resolve_tag(repo, tag);
    if (!before) return before;
    auto st = c_.prepare(
        "INSERT INTO tags(repository, name, digest, updated_ms) VALUES (?1, ?2, ?3, ?4) "
        "ON CONFLICT(repository, name) DO UPDATE SET digest = excluded.digest, updated_ms = excluded.updated_ms");
    if (!st) return std::unexpected(st.error());
    (*st)->bind(1, repo).bind(2, tag).bind(3, digest.str()).bind(4, now_unix_ms());
    if (auto s = (*st)->run(); !s) return std::unexpected(s.error());
    return before;
  }

  Result<std::optional<Digest>> delete_tag(const std::string& repo, const std::string& tag) override {
    auto before = resolve_tag(repo, tag);
    if (!before || !*before) return before;
    auto st = c_.prepare("DELETE FROM tags WHERE repository = ?1 AND name = ?2");
    if (!st) return std::unexpected(st.error());
    (*st)->bind(1, repo).bind(2, tag);
    if (auto s = (*st)->run(); !s) return std::unexpected(s.error());
    return before;
  }

  Result<std::vector<std::string>> list_tags(const std::string& repo, const std::string& after,
                                             uint32_t limit) override {
    auto st = c_.prepare("SELECT name FROM tags WHERE repository = ?1 AND name > ?2 ORDER BY name LIMIT ?3");
    if (!st) return std::unexpected(st.error());
    (*st)->bind(1, repo).bind(2, after).bind(3, static_cast<int64_t>(limit));
    return collect_strings(**st);
  }

  Status create_upload(const UploadSession& u) override {
    auto st = c_.prepare("INSERT INTO uploads(id, repository, created_ms, principal) VALUES (?1, ?2, ?3, ?4)");
    if (!st) return std::unexpected(st.error());
    (*st)->bind(1, u.id).bind(2, u.repository).bind(3, u.created_ms).bind(4, u.principal);
    return (*st)->run();
  }

  Result<std::optional<UploadSession>> find_upload(const std::string& id) override {
    auto st = c_.prepare("SELECT id, repository, created_ms, principal FROM uploads WHERE id = ?1");
    if (!st) return std::unexpected(st.error());
    (*st)->bind(1, id);
    auto row = (*st)->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return std::optional<UploadSession>();
    return std::optional(UploadSession{(*st)->text(0), (*st)->text(1), (*st)->int64(2), (*st)->text(3)});
  }

  Status delete_upload(const std::string& id) override {
    auto st = c_.prepare("DELETE FROM uploads WHERE id = ?1");
    if (!st) return std::unexpected(st.error());
    (*st)->bind(1, id);
    return (*st)->run();
  }

  Result<int64_t> append_event(const Event& e) override { return log_.append(e); }
  Result<std::vector<Event>> events_after(int64_t seq, uint32_t limit) override {
    return log_.events_after(seq, limit);
  }
  Result<int64_t> log_size() override { return log_.size(); }
  Result<std::vector<std::string>> log_entries(int64_t first, uint32_t count) override {
    return log_.entries(first, count);
  }
  Result<std::vector<Event>> events_about(const std::string& digest) override { return log_.events_about(digest); }
  audit::HashStore& log_nodes() override { return log_.nodes(); }
  Status put_checkpoint(const StoredCheckpoint& c) override { return log_.put_checkpoint(c); }
  Result<std::optional<StoredCheckpoint>> latest_checkpoint() override { return log_.latest_checkpoint(); }
  Result<std::optional<StoredCheckpoint>> checkpoint_at(int64_t size) override { return log_.checkpoint_at(size); }
  Result<std::vector<StoredCheckpoint>> recent_checkpoints(uint32_t limit) override {
    return log_.recent_checkpoints(limit);
  }

  IdentityTxn& identity() override { return identity_; }

  Result<Totals> totals() override {
    auto st = c_.prepare(
        "SELECT (SELECT count(*) FROM repositories), (SELECT count(*) FROM blobs), "
        "(SELECT coalesce(sum(size), 0) FROM blobs), (SELECT count(*) FROM manifests), "
        "(SELECT coalesce(max(seq), 0) FROM events)");
    if (!st) return std::unexpected(st.error());
    auto row = (*st)->step();
    if (!row) return std::unexpected(row.error());
    Statement& s = **st;
    return Totals{s.int64(0), s.int64(1), s.int64(2), s.int64(3), s.int64(4)};
  }

 private:
  Status ensure_repository(const std::string& name) {
    auto st = c_.prepare("INSERT OR IGNORE INTO repositories(name, created_ms) VALUES (?1, ?2)");
    if (!st) return std::unexpected(st.error());
    (*st)->bind(1, name).bind(2, now_unix_ms());
    return (*st)->run();
  }

  static Result<std::vector<std::string>> collect_strings(Statement& st) {
    std::vector<std::string> out;
    for (;;) {
      auto row = st.step();
      if (!row) return std::unexpected(row.error());
      if (!*row) return out;
      out.push_back(st.text(0));
    }
  }

  static ManifestRecord manifest_from(Statement& s) {
    ManifestRecord m;
    m.repository = s.text(0);
    m.digest = Digest::parse(s.text(1)).value_or(Digest());
    m.media_type = s.text(2);
    m.artifact_type = s.opt_text(3);
    m.subject = opt_digest(s.opt_text(4));
    m.annotations_json = s.opt_text(5);
    m.body = s.text(6);
    m.created_ms = s.int64(7);
    return m;
  }

  static Result<std::optional<ManifestRecord>> one_manifest(Statement& s) {
    auto row = s.step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return std::optional<ManifestRecord>();
    return std::optional(manifest_from(s));
  }

  Connection& c_;
  SqliteLog log_;
  SqliteIdentity identity_;
};

Status migrate(Connection& c) {
  if (auto s = c.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"); !s) return s;
  auto st = c.prepare("SELECT coalesce(max(version), 0) FROM schema_version");
  if (!st) return std::unexpected(st.error());
  if (auto r = (*st)->step(); !r) return std::unexpected(r.error());
  int64_t have = (*st)->int64(0);
  (*st)->reset();
  if (have > static_cast<int64_t>(kSchemaSteps.size()))
    return fail(ErrorCode::kFailedPrecondition,
                fmt::format("database schema {} is newer than this custody ({})", have, kSchemaSteps.size()));
  for (size_t v = static_cast<size_t>(have); v < kSchemaSteps.size(); ++v) {
    if (auto s = c.exec("BEGIN IMMEDIATE"); !s) return s;
    auto s = c.exec(kSchemaSteps[v]);
    if (s) s = c.exec(fmt::format("INSERT INTO schema_version(version) VALUES ({})", v + 1));
    if (!s) {
      (void)c.exec("ROLLBACK");
      return s;
    }
    if (auto s2 = c.exec("COMMIT"); !s2) return s2;
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<SqliteMetaStore>> SqliteMetaStore::open(const std::filesystem::path& path,
                                                               size_t pool_size) {
  std::unique_ptr<SqliteMetaStore> store(new SqliteMetaStore());
  for (size_t i = 0; i < std::max<size_t>(pool_size, 1); ++i) {
    auto c = Connection::open(path.string());
    if (!c) return std::unexpected(c.error());
    if (i == 0) {
      if (auto s = migrate(**c); !s) return std::unexpected(s.error());
    }
    store->idle_.push_back(std::move(*c));
  }
  return store;
}

SqliteMetaStore::~SqliteMetaStore() = default;

std::unique_ptr<Connection> SqliteMetaStore::acquire() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !idle_.empty(); });
  auto c = std::move(idle_.back());
  idle_.pop_back();
  return c;
}

void SqliteMetaStore::release(std::unique_ptr<Connection> c) {
  {
    std::lock_guard lock(mu_);
    idle_.push_back(std::move(c));
  }
  cv_.notify_one();
}

Status SqliteMetaStore::run(const char* begin, const TxnFn& fn) {
  auto conn = acquire();
  struct Returner {
    SqliteMetaStore* s;
    std::unique_ptr<Connection>& c;
    ~Returner() { s->release(std::move(c)); }
  } returner{this, conn};
  if (auto s = conn->exec(begin); !s) return s;
  SqliteTxn txn(*conn);
  Status result = fn(txn);
  conn->reset_statements();
  if (!result) {
    (void)conn->exec("ROLLBACK");
    return result;
  }
  if (auto s = conn->exec("COMMIT"); !s) {
    (void)conn->exec("ROLLBACK");
    return s;
  }
  return {};
}

struct SqliteMetaStore::Writer {
  const TxnFn* fn;
  Status result;
  bool done = false;
  std::condition_variable cv;
};

void SqliteMetaStore::commit_batch(const std::vector<Writer*>& batch) {
  if (batch.size() == 1) {
    batch[0]->result = run("BEGIN IMMEDIATE", *batch[0]->fn);
    return;
  }
  auto conn = acquire();
  Status begun = conn->exec("BEGIN IMMEDIATE");
  bool any = false;
  for (Writer* w : batch) {
    if (!begun) {
      w->result = begun;
      continue;
    }
    if (auto s = conn->exec("SAVEPOINT writer"); !s) {
      w->result = s;
      continue;
    }
    SqliteTxn txn(*conn);
    w->result = (*w->fn)(txn);
    conn->reset_statements();
    if (!w->result) (void)conn->exec("ROLLBACK TO writer");
    (void)conn->exec("RELEASE writer");
    any = any || w->result.has_value();
  }
  if (begun) {
    Status committed = any ? conn->exec("COMMIT") : conn->exec("ROLLBACK");
    if (!committed) {
      (void)conn->exec("ROLLBACK");
      for (Writer* w : batch)
        if (w->result) w->result = committed;
    }
  }
  release(std::move(conn));
}

// Set while this thread commits a batch: a transaction function that
// called transact() again would wait behind itself forever.
thread_local bool committing = false;

Status SqliteMetaStore::transact(const TxnFn& fn) {
  constexpr size_t kMaxBatch = 64;
  if (committing) return fail(ErrorCode::kFailedPrecondition, "MetaStore::transact called inside a transaction");
  Writer w{&fn, {}, false, {}};
  std::unique_lock lock(write_mu_);
  writers_.push_back(&w);
  w.cv.wait(lock, [&] { return w.done || writers_.front() == &w; });
  if (w.done) return w.result;
  // The leader: everyone queued so far commits with it.
  std::vector<Writer*> batch(writers_.begin(), writers_.begin() + std::min(kMaxBatch, writers_.size()));
  lock.unlock();
  committing = true;
  commit_batch(batch);
  committing = false;
  lock.lock();
  for (Writer* done : batch) {
    writers_.pop_front();
    done->done = true;
    if (done != &w) done->cv.notify_one();
  }
  if (!writers_.empty()) writers_.front()->cv.notify_one();
  return w.result;
}
Status SqliteMetaStore::read(const TxnFn& fn) { return run("BEGIN DEFERRED", fn); }

}  // namespace custody::meta
