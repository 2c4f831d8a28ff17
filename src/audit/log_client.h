// LogClient: reads a Custody log over HTTP and believes nothing it has not
// checked against the log's pinned key (the verifier key printed by
// `custody log key`, pinned out of band).
//
// CheckpointMemory keeps, per log origin, the last checkpoint a client
// verified, so that every later run can prove the log only grew: a
// smaller tree, a different root at the same size or a failed consistency
// proof all mean history was rewritten or forked.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/event.h"
#include "http/client.h"

namespace custody::audit {

struct VerifiedCheckpoint {
  std::string note;  // wire form, as served
  Checkpoint checkpoint;
  size_t cosignatures = 0;  // distinct known witnesses that cosigned
};

// One event of a trace, its inclusion in the checkpoint's tree verified.
struct ProvenEvent {
  Event event;
  std::string entry;
  uint64_t leaf_index = 0;
  size_t proof_length = 0;
};

class LogClient {
 public:
  // `base_url` is the server's root ("https://host:port").
  LogClient(http::HttpClient& http, std::string base_url, NoteVerifier log_key,
            std::vector<NoteVerifier> witnesses = {});

  const NoteVerifier& key() const { return key_; }

  // The published checkpoint, or with `latest` the newest one whether
  // witnessed or not; its log signature (and any cosignature by a known
  // witness) verified.
  Result<VerifiedCheckpoint> checkpoint(bool latest = false);
  // kDataLoss naming both sizes unless `now` provably extends `last`.
  Status check_extends(const Checkpoint& last, const Checkpoint& now);
  // Downloads every entry of the tree `cp` commits to and checks each one
  // against the log's leaf hashes and all of them against cp's root.
  // kDataLoss naming the first bad index. Returns the entries checked.
  Result<uint64_t> verify_entries(const Checkpoint& cp);
  // Every event about `digest` with an inclusion proof verified against cp.
  Result<std::vector<ProvenEvent>> trace(const std::string& digest, const Checkpoint& cp);
  // Hands a cosigned checkpoint back to the log.
  Status post_cosignature(std::string_view note);

 private:
  Result<std::string> fetch(const std::string& path);
  Status verify_bundle(uint64_t tile_index, const Checkpoint& cp, std::vector<Hash>& leaves);

  http::HttpClient& http_;
  std::string base_url_;
  NoteVerifier key_;
  std::vector<NoteVerifier> witnesses_;
};

class CheckpointMemory {
 public:
  // $XDG_CONFIG_HOME/custody/logs, else ~/.config/custody/logs.
  static std::filesystem::path default_dir();

  CheckpointMemory(const std::filesystem::path& dir, std::string_view origin);

  // The remembered checkpoint, re-verified with `key`; nullopt on first use.
  Result<std::optional<Checkpoint>> load(const NoteVerifier& key) const;
  // Replaces the remembered checkpoint atomically.
  Status save(std::string_view note) const;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace custody::audit
