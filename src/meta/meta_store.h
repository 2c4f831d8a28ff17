// MetaStore: repositories, manifests, tags, blob links, referrers, upload
// sessions and the custody log, always read and changed inside a
// transaction.
//
// The one rule: a state change and the event that records it are written
// by the same transaction, so they commit together or not at all. Callers
// never see SQL; Txn offers typed operations.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "audit/event.h"
#include "audit/merkle.h"
#include "auth/identity.h"
#include "common/digest.h"
#include "common/error.h"

namespace custody::meta {

struct ManifestRecord {
  std::string repository;
  Digest digest;
  std::string media_type;
  std::optional<std::string> artifact_type;
  std::optional<Digest> subject;
  std::optional<std::string> annotations_json;  // the manifest's "annotations" object
  std::string body;                             // exactly the bytes that were pushed
  int64_t created_ms = 0;
};

// What a manifest points at; used to validate deletes and for GC.
struct ManifestReference {
  enum class Kind { kBlob, kManifest };
  Digest digest;
  Kind kind;
};

// A custody-log event (audit/event.h defines it and its encoding).
using Event = audit::Event;

// A signed checkpoint of the log, as published.
struct StoredCheckpoint {
  int64_t size = 0;
  int64_t time_ms = 0;
  std::string note;  // C2SP signed note (tlog-checkpoint body)
};

struct UploadSession {
  std::string id;
  std::string repository;
  int64_t created_ms = 0;
  std::string principal;  // who opened it ("" when anonymous)
};

// Identities, namespaces, teams, grants and revocations.
class IdentityTxn {
 public:
  virtual ~IdentityTxn() = default;

  // kAlreadyExists if the name is taken. Hashes are stored as given.
  virtual Status create_principal(const auth::Principal& p, const std::string& password_hash,
                                  const std::string& secret_hash) = 0;
  virtual Result<std::optional<auth::Principal>> principal(const std::string& name) = 0;
  virtual Result<std::optional<std::string>> password_hash(const std::string& name) = 0;
  virtual Result<std::optional<std::string>> secret_hash(const std::string& name) = 0;
  virtual Status set_password_hash(const std::string& name, const std::string& hash) = 0;
  virtual Status set_disabled(const std::string& name, bool disabled) = 0;
  virtual Status set_secret_hash(const std::string& name, const std::string& hash) = 0;
  virtual Status set_system_admin(const std::string& name, bool system_admin) = 0;
  virtual Result<std::vector<auth::Principal>> principals(const std::string& after, uint32_t limit) = 0;
  virtual Result<int64_t> principal_count() = 0;

  virtual Status create_namespace(const auth::Namespace& ns) = 0;
  virtual Result<std::optional<auth::Namespace>> find_namespace(const std::string& name) = 0;
  virtual Result<std::vector<auth::Namespace>> namespaces(const std::string& after, uint32_t limit) = 0;
  virtual Status set_namespace_flags(const std::string& name, bool is_public, bool is_protected) = 0;

  virtual Status create_team(const std::string& ns, const std::string& team) = 0;
  virtual Result<bool> team_exists(const std::string& ns, const std::string& team) = 0;
  virtual Status add_team_member(const std::string& ns, const std::string& team, const std::string& principal) = 0;
  virtual Result<bool> remove_team_member(const std::string& ns, const std::string& team,
                                          const std::string& principal) = 0;
  virtual Result<std::vector<std::string>> team_members(const std::string& ns, const std::string& team) = 0;

  virtual Status put_grant(const auth::Grant& g) = 0;
  virtual Result<bool> delete_grant(const auth::Grant& g) = 0;
  virtual Result<std::vector<auth::Grant>> grants(const std::string& ns) = 0;
  // Visibility, protection and `principal`'s highest role on `repository`
  // (principal "" = anonymous).
  virtual Result<auth::RepositoryAccess> access(const std::string& principal, const std::string& repository) = 0;
  virtual Status set_repository_flags(const std::string& repository, std::optional<bool> is_public,
                                      std::optional<bool> is_protected) = 0;

  virtual Status revoke_certificate(const std::string& serial, const std::string& reason) = 0;
  virtual Result<bool> certificate_revoked(const std::string& serial) = 0;
  virtual Result<std::vector<std::string>> revoked_certificates() = 0;
};

struct Totals {
  int64_t repositories = 0;
  int64_t blobs = 0;
  int64_t blob_bytes = 0;
  int64_t manifests = 0;
  int64_t events = 0;
};

class Txn {
 public:
  virtual ~Txn() = default;

  // Repositories exist from their first committed blob link or manifest.
  virtual Result<bool> repository_exists(const std::string& name) = 0;
  virtual Result<std::vector<std::string>> list_repositories(const std::string& after, uint32_t limit) = 0;

  // Blobs: a global record per digest plus per-repository links.
  virtual Status put_blob(const Digest& digest, uint64_t size) = 0;
  virtual Result<std::optional<uint64_t>> linked_blob_size(const std::string& repo, const Digest& digest) = 0;
  virtual Status link_blob(const std::string& repo, const Digest& digest) = 0;
  virtual Result<bool> unlink_blob(const std::string& repo, const Digest& digest) = 0;

  // Manifests, stored byte-for-byte. put_manifest returns false when the
  // same digest already existed in the repository (then nothing changes).
  virtual Result<bool> put_manifest(const ManifestRecord& m, const std::vector<ManifestReference>& refs) = 0;
  virtual Result<std::optional<ManifestRecord>> get_manifest(const std::string& repo, const Digest& digest) = 0;
  // Removes the manifest and every tag pointing at it; returns those tags.
  virtual Result<std::vector<std::string>> delete_manifest(const std::string& repo, const Digest& digest) = 0;
  virtual Result<std::vector<ManifestRecord>> referrers(const std::string& repo, const Digest& subject) = 0;

  // Tags. set_tag returns the digest the tag pointed at before, if any.
  virtual Result<std::optional<Digest>> resolve_tag(const std::string& repo, const std::string& tag) = 0;
  virtual Result<std::optional<ManifestRecord>> get_tagged_manifest(const std::string& repo,
                                                                    const std::string& tag) = 0;
  virtual Result<std::optional<Digest>> set_tag(const std::string& repo, const std::string& tag,
                                                const Digest& digest) = 0;
  virtual Result<std::optional<Digest>> delete_tag(const std::string& repo, const std::string& tag) = 0;
  virtual Result<std::vector<std::string>> list_tags(const std::string& repo, const std::string& after,
                                                     uint32_t limit) = 0;

  // Upload sessions (their bytes live in the BlobStore).
  virtual Status create_upload(const UploadSession& u) = 0;
  virtual Result<std::optional<UploadSession>> find_upload(const std::string& id) = 0;
  virtual Status delete_upload(const std::string& id) = 0;

  // The custody log. append_event assigns the next sequence number (and
  // the time, if unset), stores the canonical entry and appends its leaf to
  // the Merkle tree, all inside this transaction. Returns the seq.
  virtual Result<int64_t> append_event(const Event& e) = 0;
  virtual Result<std::vector<Event>> events_after(int64_t seq, uint32_t limit) = 0;
  // Number of events = leaves in the tree.
  virtual Result<int64_t> log_size() = 0;
  // Entry bytes of leaves [first, first + count), as hashed into the tree.
  virtual Result<std::vector<std::string>> log_entries(int64_t first, uint32_t count) = 0;
  // Events whose digest is `digest`, or whose subject is (signatures and
  // other referrers), in log order.
  virtual Result<std::vector<Event>> events_about(const std::string& digest) = 0;
  // The tree's stored complete-subtree hashes (valid for this transaction).
  virtual audit::HashStore& log_nodes() = 0;
  virtual Status put_checkpoint(const StoredCheckpoint& c) = 0;
  virtual Result<std::optional<StoredCheckpoint>> latest_checkpoint() = 0;
  virtual Result<std::optional<StoredCheckpoint>> checkpoint_at(int64_t size) = 0;
  // The newest checkpoints, largest size first.
  virtual Result<std::vector<StoredCheckpoint>> recent_checkpoints(uint32_t limit) = 0;

  virtual Result<Totals> totals() = 0;

  virtual IdentityTxn& identity() = 0;
};

class MetaStore {
 public:
  virtual ~MetaStore() = default;
  using TxnFn = std::function<Status(Txn&)>;
  // Runs fn in one write transaction; commits if fn succeeds, else rolls
  // back (events appended by fn roll back with everything else).
  virtual Status transact(const TxnFn& fn) = 0;
  // Runs fn on a consistent read-only snapshot.
  virtual Status read(const TxnFn& fn) = 0;
};

// Appends one event in a transaction of its own: for facts that change
// nothing else (a login, a refusal).
inline Status append_event(MetaStore& meta, const Event& e) {
  return meta.transact([&](Txn& t) -> Status {
    auto seq = t.append_event(e);
    if (!seq) return std::unexpected(seq.error());
    return {};
  });
}

}  // namespace custody::meta
