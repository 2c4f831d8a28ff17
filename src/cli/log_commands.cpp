// `custody log …` on the command line: key, verify, trace, witness and
// witness-keygen.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include <fcntl.h>

#include "audit/log_service.h"
#include "audit/witness.h"
#include "cli/commands.h"
#include "cli/log_session.h"
#include "common/file.h"
#include "common/time.h"

namespace custody::cli {
namespace {

namespace fs = std::filesystem;

// The verifier key of a local instance (from its data directory), or as a
// remote instance states it (to be compared with the operator's copy).
int run_log_key(const KeyOptions& o) {
  if (!o.url.empty()) {
    auto http = http::HttpClient::create();
    auto r = http ? http->get(o.url + "/log/v1/key") : Result<http::ClientResponse>(std::unexpected(http.error()));
    if (!r || r->status != 200) {
      std::fprintf(stderr, "custody log key: %s\n", r ? fmt::format("HTTP {}", r->status).c_str() : r.error().message.c_str());
      return 1;
    }
    std::fprintf(stderr, "custody log key: fetched from the server itself; compare it with the operator's copy\n");
    std::printf("%s", r->body.c_str());
    return 0;
  }
  auto config = load_config(o.server);
  if (!config) return std::fprintf(stderr, "custody log key: %s\n", config.error().message.c_str()), 1;
  fs::path path = config->storage.data_dir / "log.key";
  auto signer = audit::load_log_key(path);
  if (!signer) {
    std::fprintf(stderr, "custody log key: %s: %s (has `custody serve` run on this data directory?)\n",
                 path.c_str(), signer.error().message.c_str());
    return 1;
  }
  std::printf("%s\n", signer->verifier().to_string().c_str());
  return 0;
}

int run_log_witness(const WitnessOptions& o) {
  auto text = read_small_file(o.signer_file, 4096);
  if (!text) return report_failure("witness", o.log, text.error());
  while (!text->empty() && text->back() == '\n') text->pop_back();
  auto signer = audit::NoteSigner::parse(*text);
  if (!signer) return report_failure("witness", o.log, signer.error());
  auto s = LogSession::open(o.log);
  if (!s) return report_failure("witness", o.log, s.error());
  audit::Witness witness(*s->log, *signer, s->memory(o.log, "witness"));
  for (;;) {
    auto round = witness.witness_once(static_cast<uint64_t>(now_unix_ms() / 1000));
    if (!round && round.error().code == ErrorCode::kDataLoss) {
      std::fprintf(stderr, "custody log witness: FORK DETECTED, not cosigned: %s\n", round.error().message.c_str());
      return 2;
    }
    if (!round) {
      std::fprintf(stderr, "custody log witness: %s\n", round.error().message.c_str());
      if (o.once) return 1;
    } else {
      std::printf("%s\n", fmt::format("cosigned {} at size {}{}", s->log->key().name(), round->size,
                                      round->previous_size ? fmt::format(" (consistent with {})", round->previous_size)
                                                           : std::string(" (first contact)")).c_str());
      std::fflush(stdout);
    }
    if (o.once) return 0;
    std::this_thread::sleep_for(std::chrono::seconds(o.interval_seconds));
  }
}

int run_witness_keygen(const std::string& name, const std::string& out) {
  auto key = audit::generate_witness_key(name);
  if (!key) return std::fprintf(stderr, "custody log witness-keygen: %s\n", key.error().message.c_str()), 1;
  auto fd = open_file(out, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (!fd) return std::fprintf(stderr, "custody log witness-keygen: %s\n", fd.error().message.c_str()), 1;
  if (auto s = write_all(fd->get(), *key + "\n"); !s)
    return std::fprintf(stderr, "custody log witness-keygen: %s\n", s.error().message.c_str()), 1;
  auto signer = audit::NoteSigner::parse(*key);
  std::printf("%s\n", signer->verifier().to_string().c_str());
  return 0;
}

void add_connection_options(CLI::App* cmd, LogOptions& o, bool with_quorum) {
  cmd->add_option("--key", o.key, "The log's verifier key (from `custody log key`), or a file holding it")->required();
  cmd->add_option("--state", o.state_dir, "Where remembered checkpoints are kept (default: ~/.config/custody/…)");
  cmd->add_option("--ca-file", o.ca_file, "PEM CA bundle to trust for https (or CUSTODY_CA_CERT)");
  cmd->add_option("--cert", o.client_cert, "Client certificate, mutual TLS (or CUSTODY_CLIENT_CERT)");
  cmd->add_option("--cert-key", o.client_key, "Client certificate's key (or CUSTODY_CLIENT_KEY)");
  cmd->add_flag("--json", o.json, "Machine-readable output");
  if (!with_quorum) return;
  cmd->add_option("--witness", o.witnesses, "A witness's verifier key (repeatable)");
  cmd->add_option("--quorum", o.quorum, "Witness cosignatures a checkpoint must carry");
}

}  // namespace

void add_log_commands(CLI::App& app, LogCommandLine& line, int& rc) {
  auto* log = app.add_subcommand("log", "The custody log: verify it, trace images through it, witness it");
  log->require_subcommand(1);

  auto& [key, verify, trace, ref, witness, name, out] = line;
  auto* key_cmd = log->add_subcommand("key", "Print the log's verifier key");
  key_cmd->add_option("--config", key.server.config_path, "TOML configuration file");
  key_cmd->add_option("--data", key.server.data_dir, "Data directory of a local instance");
  key_cmd->add_option("--url", key.url, "Ask a running server instead (trust on first use)");
  key_cmd->callback([&] { rc = run_log_key(key); });

  auto* verify_cmd = log->add_subcommand("verify", "Verify the log: signature, consistency, every entry");
  verify_cmd->add_option("--url", verify.url, "The server, e.g. https://registry:5000 (or CUSTODY_REGISTRY)");
  add_connection_options(verify_cmd, verify, true);
  verify_cmd->callback([&] { rc = run_log_verify(with_environment(verify)); });

  auto* trace_cmd = log->add_subcommand("trace", "The proven chain of custody of an image");
  trace_cmd->add_option("image", ref, "repository:tag, repository@digest or a digest")->required();
  trace_cmd->add_option("--url", trace.url, "The server, e.g. https://registry:5000 (or CUSTODY_REGISTRY)");
  add_connection_options(trace_cmd, trace, true);
  trace_cmd->callback([&] { rc = run_log_trace(ref, with_environment(trace)); });

  auto* witness_cmd = log->add_subcommand("witness", "Cosign another log's checkpoints after checking consistency");
  witness_cmd->add_option("--log", witness.log.url, "The log to witness, e.g. https://registry:5000")->required();
  witness_cmd->add_option("--witness-key", witness.signer_file, "This witness's signer key file")->required();
  witness_cmd->add_flag("--once", witness.once, "One round, then exit");
  witness_cmd->add_option("--interval", witness.interval_seconds, "Seconds between rounds");
  add_connection_options(witness_cmd, witness.log, false);
  witness_cmd->callback([&] { rc = run_log_witness(witness); });

  auto* keygen = log->add_subcommand("witness-keygen", "Make a witness key; prints its verifier key");
  keygen->add_option("--name", name, "The witness's name, e.g. witness.example.org")->required();
  keygen->add_option("--out", out, "File for the secret signer key (created 0600)")->required();
  keygen->callback([&] { rc = run_witness_keygen(name, out); });
}

}  // namespace custody::cli
