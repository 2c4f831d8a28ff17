// The metadata schema, applied in order by version. Never edit a shipped
// step: add a new one.
#pragma once

#include <array>

namespace custody::meta {

inline constexpr std::array<const char*, 2> kSchemaSteps = {
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
    // 2: identities, namespaces, teams, grants, repository settings,
    // revoked certificates; upload sessions remember who opened them.
    R"sql(
CREATE TABLE principals (
  name TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('user', 'robot')),
  password_hash TEXT,              -- users: Argon2id (libsodium crypto_pwhash_str)
  secret_hash TEXT,                -- robots: SHA-256 of a 256-bit random secret
  system_admin INTEGER NOT NULL DEFAULT 0,
  disabled INTEGER NOT NULL DEFAULT 0,
  expires_ms INTEGER,              -- robots
  namespace TEXT,                  -- robots: the namespace that owns them
  created_ms INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE namespaces (
  name TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('org', 'user')),
  public INTEGER NOT NULL DEFAULT 0,
  protected INTEGER NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE teams (
  namespace TEXT NOT NULL REFERENCES namespaces(name),
  name TEXT NOT NULL,
  PRIMARY KEY (namespace, name)
) WITHOUT ROWID;

CREATE TABLE team_members (
  namespace TEXT NOT NULL,
  team TEXT NOT NULL,
  principal TEXT NOT NULL REFERENCES principals(name),
  PRIMARY KEY (namespace, team, principal),
  FOREIGN KEY (namespace, team) REFERENCES teams(namespace, name) ON DELETE CASCADE
) WITHOUT ROWID;

-- A role for a principal or a team ("<namespace>/<team>") on a whole
-- namespace (repository = '') or on one repository.
CREATE TABLE grants (
  subject_kind TEXT NOT NULL CHECK (subject_kind IN ('principal', 'team')),
  subject TEXT NOT NULL,
  namespace TEXT NOT NULL,
  repository TEXT NOT NULL DEFAULT '',
  role TEXT NOT NULL CHECK (role IN ('read', 'write', 'admin')),
  PRIMARY KEY (subject_kind, subject, namespace, repository)
) WITHOUT ROWID;
CREATE INDEX grants_by_namespace ON grants(namespace, repository);

CREATE TABLE repository_settings (
  repository TEXT PRIMARY KEY,
  public INTEGER,                  -- NULL: as the namespace
  protected INTEGER
) WITHOUT ROWID;

CREATE TABLE revoked_certificates (
  serial TEXT PRIMARY KEY,
  revoked_ms INTEGER NOT NULL,
  reason TEXT NOT NULL
) WITHOUT ROWID;

ALTER TABLE uploads ADD COLUMN principal TEXT NOT NULL DEFAULT '';
)sql",
};

}  // namespace custody::meta
