// CustodyLog: the custody log as a service over the MetaStore — signed
// checkpoints, tiles, entry bundles, proofs and per-image traces.
//
// Events are appended by whoever changes state (inside their own
// transaction, see meta::Txn::append_event); this class reads the log,
// signs checkpoints of it, and logs the witness cosignatures it accepts.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/note.h"
#include "audit/tile.h"
#include "meta/meta_store.h"

namespace custody::audit {

// Reads the log's signer key from `path` (kNotFound if there is none).
Result<NoteSigner> load_log_key(const std::filesystem::path& path);
// Loads the log's Ed25519 signer key from `path`, creating it (mode 0600)
// on first start. The key's name is the log's origin; a key made for
// another origin is refused rather than silently replaced.
Result<NoteSigner> load_or_create_log_key(const std::filesystem::path& path, std::string_view origin);

struct TracedEvent {
  Event event;
  std::string entry;          // the canonical bytes in the tree
  std::vector<Hash> proof;    // inclusion proof at the checkpoint's size
};

struct WitnessPolicy {
  std::vector<NoteVerifier> witnesses;  // cosigner (type 0x04) keys
  uint32_t quorum = 0;                  // cosignatures a checkpoint needs to be published
};

class CustodyLog {
 public:
  CustodyLog(meta::MetaStore& meta, NoteSigner key, WitnessPolicy witnesses);

  const std::string& origin() const { return key_.verifier().name(); }
  std::string verifier_key() const { return key_.verifier().to_string(); }

  // Signs a checkpoint of the current tree if it grew since the last one;
  // returns the new checkpoint's size, or nullopt if nothing changed.
  Result<std::optional<int64_t>> checkpoint_now();
  // The newest checkpoint that has its witness quorum (any, if quorum 0).
  Result<meta::StoredCheckpoint> published_checkpoint();
  // The newest signed checkpoint, witnessed or not: what witnesses cosign.
  Result<meta::StoredCheckpoint> latest_checkpoint();
  // Accepts a witness's cosigned copy of a stored checkpoint. Each
  // cosignature that is new (or replaces an older one by the same witness)
  // is recorded as a "checkpoint.cosign" event in the same transaction;
  // posting a cosignature already held changes nothing and logs nothing.
  // `source` is the client address that delivered it.
  Status add_cosignature(std::string_view note, std::string_view source = {});

  // Tile or entry-bundle bytes at the current tree size.
  Result<std::string> tile(const TilePath& path);
  Result<std::vector<Hash>> inclusion_proof(int64_t seq, int64_t size);
  Result<std::vector<Hash>> consistency_proof(int64_t old_size, int64_t new_size);
  // Every event about `digest` (and its referrers) with inclusion proofs
  // at tree size `size` (which must be a checkpointed size).
  Result<std::vector<TracedEvent>> trace(const std::string& digest, int64_t size);

 private:
  size_t cosignature_count(std::string_view note) const;

  meta::MetaStore& meta_;
  NoteSigner key_;
  WitnessPolicy witnesses_;
};

}  // namespace custody::audit
