// Config: everything `custody serve` can be told, with the embedded
// defaults (filesystem + SQLite under ./custody-data, 127.0.0.1:5000).
//
// Loaded from a TOML file (see docs/configuration.md); command-line flags
// override the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/error.h"

namespace custody {

struct TlsConfig {
  std::string cert;         // PEM certificate chain; TLS is on when set
  std::string key;          // PEM private key
  std::string client_ca;    // PEM CAs for client certificates
  std::string client_auth = "none";  // "none", "request" or "require"
};

struct ServerConfig {
  std::string listen = "127.0.0.1:5000";
  // Connections served at once; more are answered 503 TOO_MANY_REQUESTS.
  uint32_t max_connections = 1024;
  // Reserved: connections are served by their own threads (see
  // docs/architecture.md and docs/benchmarks.md for why).
  uint32_t workers = 0;
  // "stdout", "off", or a file path. One JSON object per request.
  std::string access_log = "stdout";
  // On SIGTERM, in-flight requests get this long to finish.
  uint32_t shutdown_grace_seconds = 30;
  // Idle keep-alive connections are closed after this long.
  uint32_t idle_timeout_seconds = 60;
  TlsConfig tls;
};

struct StorageConfig {
  std::filesystem::path data_dir = "custody-data";
};

struct LimitsConfig {
  uint64_t manifest_max_bytes = 4 * 1024 * 1024;
  uint32_t page_size_max = 1000;       // cap on `n` for tags/list and _catalog
  uint32_t header_max_bytes = 64 * 1024;
  uint64_t upload_max_bytes = 0;       // 0 = unlimited
};

struct LogConfig {
  // Names the log in its checkpoints; "" means "custody/<hostname>".
  std::string origin;
  // A checkpoint is signed when this much time passed or this many events
  // arrived since the last one (whichever comes first).
  uint32_t checkpoint_interval_ms = 1000;
  uint32_t checkpoint_events = 1000;
  // Witness (cosigner) verifier keys, and how many must cosign a
  // checkpoint before /log/checkpoint publishes it.
  std::vector<std::string> witnesses;
  uint32_t witness_quorum = 0;
  // Record manifest and blob pulls as events (batched).
  bool record_pulls = false;
};

// Identity and access (docs/auth.md).
struct AuthConfig {
  // "token": Docker token authentication and RBAC. "open": no
  // authentication at all, everyone may do everything (local trials only).
  std::string mode = "token";
  bool passwords = true;  // false: passwords never authenticate
  std::string service = "custody";
  std::string issuer = "custody";
  std::string realm;  // token endpoint URL; "" = derived from the Host header
  uint32_t token_ttl_seconds = 300;
  uint32_t refresh_ttl_seconds = 30 * 24 * 3600;
  std::string certificate_identity = "uri";  // "uri", "cn" or "email"
  std::string certificate_email_domain;

  bool open() const { return mode == "open"; }
};

struct Config {
  ServerConfig server;
  AuthConfig auth;
  StorageConfig storage;
  LimitsConfig limits;
  LogConfig log;

  // Parses TOML text; unknown keys are errors so typos do not go unnoticed.
  static Result<Config> parse_toml(std::string_view text);
  static Result<Config> load(const std::filesystem::path& path);
};

}  // namespace custody
