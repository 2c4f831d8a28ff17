// `custody log trace <image>`: the chain of custody of one image, every
// line backed by an inclusion proof checked against a signed checkpoint.
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <map>

#include <nlohmann/json.hpp>

#include "audit/encoding.h"
#include "cli/environment.h"
#include "cli/log_session.h"
#include "common/digest.h"
#include "http/message.h"

namespace custody::cli {
namespace {

using json = nlohmann::json;

constexpr const char* kManifestAccept =
    "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json";

// The part of `ref` after the registry host, if it names one ("host:port/"
// or "host.domain/" as its first component, as docker does).
std::string_view strip_host(std::string_view ref) {
  auto slash = ref.find('/');
  if (slash == std::string_view::npos) return ref;
  std::string_view first = ref.substr(0, slash);
  bool host = first.find_first_of(".:") != std::string_view::npos || first == "localhost";
  return host ? ref.substr(slash + 1) : ref;
}

// The value of `key="…"` in a WWW-Authenticate challenge ("" if absent).
std::string challenge_param(const std::string& challenge, const std::string& key) {
  auto at = challenge.find(key + "=\"");
  if (at == std::string::npos) return "";
  at += key.size() + 2;
  auto end = challenge.find('"', at);
  return end == std::string::npos ? "" : challenge.substr(at, end - at);
}

// A bearer token answering a 401's challenge, as docker would fetch it:
// with CUSTODY_USER and CUSTODY_SECRET if set, else with the client
// certificate (if any) or anonymously.
Result<std::string> token_for(http::HttpClient& http, const std::string& challenge) {
  std::string realm = challenge_param(challenge, "realm");
  if (realm.empty()) return fail(ErrorCode::kUnauthenticated, "the registry asks for credentials but names no realm");
  std::string url = fmt::format("{}?service={}&scope={}", realm, http::percent_encode(challenge_param(challenge, "service")),
                                http::percent_encode(challenge_param(challenge, "scope")));
  std::map<std::string, std::string> headers;
  std::string user = env_or("CUSTODY_USER");
  if (!user.empty() && std::getenv("CUSTODY_SECRET")) headers["Authorization"] = basic_authorization(user, env_or("CUSTODY_SECRET"));
  auto r = http.get(url, headers);
  if (!r) return std::unexpected(r.error());
  auto body = json::parse(r->body, nullptr, false);
  if (r->status != 200 || !body.is_object() || !body.contains("token") || !body["token"].is_string())
    return fail(ErrorCode::kUnauthenticated, fmt::format("token endpoint answered HTTP {} (check CUSTODY_USER and CUSTODY_SECRET)", r->status));
  return body["token"].get<std::string>();
}

// "sha256:…", "repo@sha256:…" or "repo:tag" (resolved on the registry).
Result<std::string> resolve_digest(LogSession& s, const LogOptions& o, std::string_view ref) {
  ref = strip_host(ref);
  auto at = ref.find('@');
  std::string_view digest = at == std::string_view::npos ? ref : ref.substr(at + 1);
  if (digest.starts_with("sha256:")) {
    auto d = Digest::parse(digest);
    if (!d) return fail(ErrorCode::kInvalidArgument, "not a digest: " + std::string(digest));
    return d->str();
  }
  auto colon = ref.rfind(':');
  if (colon == std::string_view::npos || ref.find('/', colon) != std::string_view::npos)
    return fail(ErrorCode::kInvalidArgument, "name an image as repository:tag, repository@digest or a digest");
  std::string url = fmt::format("{}/v2/{}/manifests/{}", o.url, ref.substr(0, colon), ref.substr(colon + 1));
  auto r = s.http->head(url, {{"Accept", kManifestAccept}});
  if (!r) return std::unexpected(r.error());
  if (r->status == 401 && r->header("www-authenticate").starts_with("Bearer ")) {
    auto token = token_for(*s.http, r->header("www-authenticate"));
    if (!token) return fail(token.error().code, std::string(ref) + ": " + token.error().message);
    r = s.http->head(url, {{"Accept", kManifestAccept}, {"Authorization", "Bearer " + *token}});
    if (!r) return std::unexpected(r.error());
  }
  if (r->status == 401 || r->status == 403)
    return fail(ErrorCode::kUnauthenticated,
                fmt::format("{}: HTTP {}: not allowed to read it (set CUSTODY_USER and CUSTODY_SECRET, or use --cert)",
                            ref, r->status));
  std::string found = r->header("docker-content-digest");
  if (r->status != 200 || found.empty())
    return fail(ErrorCode::kNotFound, fmt::format("{}: HTTP {}, no such image", ref, r->status));
  return found;
}

std::string describe(const json& e) {
  std::string where = e.value("repository", "");
  if (!e.value("tag", "").empty()) where += ":" + e.value("tag", "");
  const json& actor = e["actor"];
  std::string line = fmt::format("#{:<6} {}  {:<16} {}  by {} ({})", e.value("seq", 0), e.value("time", ""),
                                 e.value("action", ""), where, actor.value("name", ""), actor.value("auth", ""));
  if (!e.value("source", "").empty()) line += " from " + e.value("source", "");
  if (e.contains("detail") && !e["detail"].empty()) line += "  " + e["detail"].dump();
  return line;
}

void print_trace(const std::string& asked, const std::string& digest, const audit::VerifiedCheckpoint& cp,
                 const std::vector<audit::ProvenEvent>& events, bool as_json) {
  const auto& c = cp.checkpoint;
  std::string root = audit::base64_encode(c.root().bytes());
  if (as_json) {
    json list = json::array();
    for (const auto& e : events)
      list.push_back({{"seq", e.event.seq}, {"leaf_index", e.leaf_index}, {"inclusion_verified", true},
                      {"proof_hashes", e.proof_length}, {"event", json::parse(e.entry)}});
    std::printf("%s\n", json{{"ok", true}, {"image", asked}, {"digest", digest},
                             {"checkpoint", {{"origin", c.origin()}, {"size", c.size()}, {"root", root}}},
                             {"events", std::move(list)}}.dump().c_str());
    return;
  }
  // The digest is what has a history (in every repository it was pushed
  // to); a tag only points at it for a while.
  std::string what = asked == digest ? digest : fmt::format("{} ({})", asked, digest);
  std::printf("%s", fmt::format("chain of custody of {}, in every repository\n  log {}, checkpoint size {}, root {}\n",
                                what, c.origin(), c.size(), root).c_str());
  for (const auto& e : events)
    std::printf("%s\n", fmt::format("{}  [proof ok: leaf {} of {}]", describe(json::parse(e.entry)), e.leaf_index,
                                    c.size()).c_str());
  if (events.empty())
    std::printf("  no events about this digest up to this checkpoint (events newer than the last signed checkpoint "
                "show once the next one is signed, within [log] checkpoint_interval_ms)\n");
}

}  // namespace

int run_log_trace(const std::string& ref, const LogOptions& o) {
  auto s = LogSession::open(o);
  if (!s) return report_failure("trace", o, s.error());
  auto digest = resolve_digest(*s, o, ref);
  if (!digest) return report_failure("trace", o, digest.error());
  auto memory = s->memory(o, "logs");
  auto cp = s->fresh_checkpoint(o, memory);
  if (!cp) return report_failure("trace", o, cp.error());
  auto events = s->log->trace(*digest, cp->first.checkpoint);
  if (!events) return report_failure("trace", o, events.error());
  if (auto st = memory.save(cp->first.note); !st) return report_failure("trace", o, st.error());
  print_trace(ref, *digest, cp->first, *events, o.json);
  return 0;
}

}  // namespace custody::cli
