// The metadata schema, applied in order by version. Never edit a shipped
// step: add a new one.
#pragma once

#include <array>

namespace custody::meta {

inline constexpr std::array<const char*, 1> kSchemaSteps = {
    R"sql(
CREATE TABLE repositories (
  name TEXT PRIMARY KEY,
  created_ms INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE blobs (
  digest TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  created_ms INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE repository_blobs (
  repository TEXT NOT NULL REFERENCES repositories(name),
  digest TEXT NOT NULL REFERENCES blobs(digest),
  created_ms INTEGER NOT NULL,
  PRIMARY KEY (repository, digest)
) WITHOUT ROWID;

CREATE TABLE manifests (
  repository TEXT NOT NULL REFERENCES repositories(name),
  digest TEXT NOT NULL,
  media_type TEXT NOT NULL,
  artifact_type TEXT,
  subject TEXT,
  annotations TEXT,
  size INTEGER NOT NULL,
  body BLOB NOT NULL,
  created_ms INTEGER NOT NULL,
  PRIMARY KEY (repository, digest)
) WITHOUT ROWID;
CREATE INDEX manifests_by_subject ON manifests(repository, subject) WHERE subject IS NOT NULL;

CREATE TABLE manifest_references (
  repository TEXT NOT NULL,
  manifest TEXT NOT NULL,
  child TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('blob', 'manifest')),
  PRIMARY KEY (repository, manifest, child, kind),
  FOREIGN KEY (repository, manifest) REFERENCES manifests(repository, digest) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX manifest_references_by_child ON manifest_references(repository, child);

CREATE TABLE tags (
  repository TEXT NOT NULL,
  name TEXT NOT NULL,
  digest TEXT NOT NULL,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (repository, name),
  FOREIGN KEY (repository, digest) REFERENCES manifests(repository, digest)
) WITHOUT ROWID;

CREATE TABLE uploads (
  id TEXT PRIMARY KEY,
  repository TEXT NOT NULL,
  created_ms INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE events (
  seq INTEGER PRIMARY KEY,
  time_ms INTEGER NOT NULL,
  actor TEXT NOT NULL,
  auth TEXT NOT NULL,
  source TEXT NOT NULL,
  action TEXT NOT NULL,
  repository TEXT NOT NULL,
  digest TEXT NOT NULL,
  tag TEXT NOT NULL,
  detail TEXT NOT NULL,
  entry BLOB NOT NULL          -- the canonical bytes hashed into the Merkle tree
);
CREATE INDEX events_by_digest ON events(digest);

-- Hashes of complete subtrees of the log's Merkle tree (audit/merkle.h).
CREATE TABLE log_nodes (
  level INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  hash BLOB NOT NULL,
  PRIMARY KEY (level, idx)
) WITHOUT ROWID;

CREATE TABLE checkpoints (
  size INTEGER PRIMARY KEY,
  time_ms INTEGER NOT NULL,
  note TEXT NOT NULL
);
)sql",
};

}  // namespace custody::meta
