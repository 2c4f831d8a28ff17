// What every `custody log` command shares: its options, a connection to
// the log, and the remembered checkpoint. Private to cli/.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "audit/log_client.h"
#include "cli/commands.h"

namespace CLI {
class App;
}

namespace custody::cli {

struct LogOptions {
  std::string url;  // the server's root, e.g. https://registry.example:5000
  std::string key;  // the log's verifier key, or a file holding it
  std::vector<std::string> witnesses;
  unsigned quorum = 0;
  std::string state_dir;
  std::string ca_file, client_cert, client_key;
  bool json = false;
};

// The options with what the environment supplies where flags are absent:
// CUSTODY_REGISTRY (a URL, or host:port: https when a CA is given) and a
// client bundle's CUSTODY_CA_CERT / CUSTODY_CLIENT_CERT / CUSTODY_CLIENT_KEY.
LogOptions with_environment(LogOptions o);

// Prints "custody log <command>: FAILED: …" (and a JSON error with --json); returns 1.
int report_failure(std::string_view command, const LogOptions& o, const Error& e);

// A verifier key given inline, or the name of a file holding it.
Result<audit::NoteVerifier> parse_verifier(const std::string& value);

struct LogSession {
  std::unique_ptr<http::HttpClient> http;  // on the heap: `log` points to it across moves
  std::unique_ptr<audit::LogClient> log;

  static Result<LogSession> open(const LogOptions& o);

  // The remembered checkpoint for this log under `subdir` of the user's
  // config directory (or --state).
  audit::CheckpointMemory memory(const LogOptions& o, std::string_view subdir) const;

  // The published checkpoint, with the witness quorum enforced and proven
  // to extend the remembered one (whose size comes second; 0 if none).
  Result<std::pair<audit::VerifiedCheckpoint, uint64_t>> fresh_checkpoint(const LogOptions& o,
                                                                          const audit::CheckpointMemory& memory);
};

struct KeyOptions {
  ServeOptions server;  // --config / --data of a local instance
  std::string url;      // or a running server
};

struct WitnessOptions {
  LogOptions log;
  std::string signer_file;
  bool once = false;
  unsigned interval_seconds = 10;
};

// Storage for every `custody log` option; CLI11 writes into it while
// parsing, so it must outlive the parse.
struct LogCommandLine {
  KeyOptions key;
  LogOptions verify;
  LogOptions trace;
  std::string trace_ref;
  WitnessOptions witness;
  std::string keygen_name;
  std::string keygen_out;
};

// Adds `custody log key|verify|trace|witness|witness-keygen`; the chosen
// command's exit code lands in `rc`.
void add_log_commands(CLI::App& app, LogCommandLine& line, int& rc);

int run_log_verify(const LogOptions& o);
int run_log_trace(const std::string& ref, const LogOptions& o);

}  // namespace custody::cli
