#include "cli/log_session.h"

#include "cli/environment.h"

#include <fmt/format.h>


#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "audit/encoding.h"
#include "common/file.h"

namespace custody::cli {

namespace fs = std::filesystem;
using json = nlohmann::json;

int report_failure(std::string_view command, const LogOptions& o, const Error& e) {
  std::fprintf(stderr, "custody log %.*s: FAILED: %s\n", static_cast<int>(command.size()), command.data(),
               e.message.c_str());
  if (o.json) std::printf("%s\n", json{{"ok", false}, {"error", e.message}}.dump().c_str());
  return 1;
}

Result<audit::NoteVerifier> parse_verifier(const std::string& value) {
  std::string text = value;
  std::error_code ec;
  if (fs::is_regular_file(value, ec)) {
    auto read = read_small_file(value, 4096);
    if (!read) return std::unexpected(read.error());
    text = *read;
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  auto v = audit::NoteVerifier::parse(text);
  if (!v) return fail(ErrorCode::kInvalidArgument, "not a verifier key (" + v.error().message + "): " + value);
  return v;
}

LogOptions with_environment(LogOptions o) {
  if (o.url.empty()) o.url = env_or("CUSTODY_REGISTRY");
  if (o.ca_file.empty()) o.ca_file = env_or("CUSTODY_CA_CERT");
  if (o.client_cert.empty()) o.client_cert = env_or("CUSTODY_CLIENT_CERT");
  if (o.client_key.empty()) o.client_key = env_or("CUSTODY_CLIENT_KEY");
  o.url = registry_url(o.url, !o.ca_file.empty());
  return o;
}

Result<LogSession> LogSession::open(const LogOptions& o) {
  if (o.url.empty()) return fail(ErrorCode::kInvalidArgument, "give the server with --url (or CUSTODY_REGISTRY)");
  auto key = parse_verifier(o.key);
  if (!key) return std::unexpected(key.error());
  std::vector<audit::NoteVerifier> witnesses;
  for (const auto& w : o.witnesses) {
    auto v = parse_verifier(w);
    if (!v) return std::unexpected(v.error());
    witnesses.push_back(*v);
  }
  auto http = http::HttpClient::create({.ca_file = o.ca_file, .client_cert = o.client_cert,
                                        .client_key = o.client_key});
  if (!http) return std::unexpected(http.error());
  LogSession s{std::make_unique<http::HttpClient>(std::move(*http)), nullptr};
  s.log = std::make_unique<audit::LogClient>(*s.http, o.url, std::move(*key), std::move(witnesses));
  return s;
}

audit::CheckpointMemory LogSession::memory(const LogOptions& o, std::string_view subdir) const {
  fs::path dir = o.state_dir.empty() ? audit::CheckpointMemory::default_dir().parent_path() / subdir
                                     : fs::path(o.state_dir);
  // One file per origin *and key*: every data directory on a host shares
  // the default origin, and a checkpoint remembered for one instance must
  // not make another one look forked. A key the user passes is the log
  // they chose to trust, so its history is what counts.
  return audit::CheckpointMemory(dir, fmt::format("{}+{:08x}", log->key().name(), log->key().key_id()));
}

Result<std::pair<audit::VerifiedCheckpoint, uint64_t>> LogSession::fresh_checkpoint(
    const LogOptions& o, const audit::CheckpointMemory& memory) {
  auto cp = log->checkpoint();
  if (!cp) return std::unexpected(cp.error());
  if (cp->cosignatures < o.quorum)
    return fail(ErrorCode::kFailedPrecondition,
                fmt::format("checkpoint of size {} has {} of the {} witness cosignatures required",
                            cp->checkpoint.size(), cp->cosignatures, o.quorum));
  auto last = memory.load(log->key());
  if (!last) return std::unexpected(last.error());
  uint64_t previous = *last ? (*last)->size() : 0;
  if (*last) {
    if (auto st = log->check_extends(**last, cp->checkpoint); !st) return std::unexpected(st.error());
  }
  return std::pair{std::move(*cp), previous};
}

int run_log_verify(const LogOptions& o) {
  auto s = LogSession::open(o);
  if (!s) return report_failure("verify", o, s.error());
  auto memory = s->memory(o, "logs");
  auto cp = s->fresh_checkpoint(o, memory);
  if (!cp) return report_failure("verify", o, cp.error());
  const auto& [verified, previous] = *cp;
  auto checked = s->log->verify_entries(verified.checkpoint);
  if (!checked) return report_failure("verify", o, checked.error());
  if (auto st = memory.save(verified.note); !st) return report_failure("verify", o, st.error());
  const auto& c = verified.checkpoint;
  std::string root = audit::base64_encode(c.root().bytes());
  if (o.json) {
    std::printf("%s\n", json{{"ok", true}, {"origin", c.origin()}, {"size", c.size()}, {"root", root},
                             {"entries_checked", *checked}, {"previous_size", previous},
                             {"cosignatures", verified.cosignatures}}.dump().c_str());
    return 0;
  }
  std::string history = previous ? fmt::format("consistent with size {} verified before", previous)
                                 : std::string("first verification, checkpoint remembered");
  std::printf("%s", fmt::format("log {} verified: size {}, root {}\n  {} entries checked against the tree; {}; {} "
                                "witness cosignature(s)\n", c.origin(), c.size(), root, *checked, history,
                                verified.cosignatures).c_str());
  return 0;
}

}  // namespace custody::cli
