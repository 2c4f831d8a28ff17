#include <signal.h>

#include <cstdio>
#include <thread>

#include <fmt/format.h>

#include <unistd.h>

#include "audit/log_api.h"
#include "auth/admin_api.h"
#include "auth/enrolment.h"
#include "auth/registry_gate.h"
#include "auth/token_endpoint.h"
#include "auth/token_key_file.h"
#include "pki/ca.h"
#include "audit/log_service.h"
#include "cli/commands.h"
#include "common/config.h"
#include "http/server.h"
#include "jobs/checkpointer.h"
#include "jobs/pull_recorder.h"
#include "meta/sqlite_meta_store.h"
#include "registry/api.h"
#include "storage/fs_blob_store.h"

namespace custody::cli {
namespace {

int fatal(const std::string& what, const Error& e) {
  std::fprintf(stderr, "custody serve: %s: %s\n", what.c_str(), e.message.c_str());
  return 1;
}

std::string storage_gauges(meta::MetaStore& meta) {
  meta::Totals t;
  auto s = meta.read([&](meta::Txn& txn) -> Status {
    auto r = txn.totals();
    if (!r) return std::unexpected(r.error());
    t = *r;
    return {};
  });
  if (!s) return "";
  return fmt::format(
      "# TYPE custody_repositories gauge\ncustody_repositories {}\n"
      "# TYPE custody_blobs gauge\ncustody_blobs {}\n"
      "# TYPE custody_blob_bytes gauge\ncustody_blob_bytes {}\n"
      "# TYPE custody_manifests gauge\ncustody_manifests {}\n"
      "# TYPE custody_log_events gauge\ncustody_log_events {}\n",
      t.repositories, t.blobs, t.blob_bytes, t.manifests, t.events);
}

std::string default_origin() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "custody/local";
  return std::string("custody/") + host;
}

Result<audit::WitnessPolicy> witness_policy(const LogConfig& c) {
  audit::WitnessPolicy p;
  p.quorum = c.witness_quorum;
  for (const auto& key : c.witnesses) {
    auto v = audit::NoteVerifier::parse(key);
    if (!v) return fail(ErrorCode::kInvalidArgument, "log.witnesses: " + v.error().message);
    if (v->type() != audit::SignatureType::kCosignatureV1)
      return fail(ErrorCode::kInvalidArgument, "log.witnesses: " + v->name() + " is not a cosignature (type 0x04) key");
    p.witnesses.push_back(std::move(*v));
  }
  return p;
}

http::Response plain(int status, std::string body, std::string type = "text/plain; charset=utf-8") {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers.set("Content-Type", std::move(type));
  return r;
}

// Everything `custody serve` runs, built from the config in dependency
// order and torn down in reverse.
struct Services {
  std::unique_ptr<storage::FsBlobStore> blobs;
  std::unique_ptr<meta::SqliteMetaStore> meta;
  std::unique_ptr<audit::CustodyLog> log;
  std::unique_ptr<audit::LogApi> log_api;
  std::unique_ptr<jobs::Checkpointer> checkpointer;
  std::unique_ptr<jobs::PullRecorder> pulls;
  std::unique_ptr<registry::Registry> registry;
  std::unique_ptr<registry::Api> api;
  std::unique_ptr<http::AccessLog> access_log;
  http::Metrics metrics;
  // Token mode only (auth.mode = "token").
  std::unique_ptr<auth::Authenticator> authn;
  std::unique_ptr<auth::TokenService> tokens;
  std::unique_ptr<auth::RegistryGate> gate;
  std::unique_ptr<auth::TokenEndpoint> token_endpoint;
  std::unique_ptr<auth::AdminApi> admin_api;
  std::optional<std::string> enrolment_secret;  // printed once, at first start
  // The built-in CA, when `custody pki init` made one: signs /pki/crl.
  std::optional<pki::CertificateAuthority> ca;

  http::Response handle(http::Request& req);
  http::Response handle_operations(const http::Request& req);
  http::Response crl();
  bool certificate_revoked(std::string_view serial);
};

Status open_auth(const Config& c, Services& s) {
  auto key = auth::load_or_create_token_key(c.storage.data_dir / "token.key");
  if (!key) return fail(key.error().code, "token key: " + key.error().message);
  auth::AuthenticatorOptions ao;
  ao.passwords = c.auth.passwords;
  ao.certificate_identity = *pki::parse_subject_mapping(c.auth.certificate_identity);
  ao.certificate_email_domain = c.auth.certificate_email_domain;
  s.authn = std::make_unique<auth::Authenticator>(*s.meta, ao);
  auth::TokenOptions to{c.auth.service, c.auth.issuer, c.auth.token_ttl_seconds, c.auth.refresh_ttl_seconds};
  s.tokens = std::make_unique<auth::TokenService>(*s.meta, std::move(*key), to);
  s.gate = std::make_unique<auth::RegistryGate>(*s.meta, *s.authn, *s.tokens,
                                                auth::GateOptions{c.auth.realm, !c.server.tls.cert.empty()});
  s.token_endpoint = std::make_unique<auth::TokenEndpoint>(*s.meta, *s.authn, *s.tokens);
  s.admin_api = std::make_unique<auth::AdminApi>(*s.meta, *s.authn, *s.tokens,
                                                 auth::AdminApiOptions{c.auth.passwords, c.limits.page_size_max});
  return {};
}

// After the port is bound, so that a start that fails never enrols an
// administrator whose secret nobody saw.
Status enrol(const Config& c, Services& s) {
  if (c.auth.open()) return {};
  auto secret = auth::enrol_first_admin(*s.meta);
  if (!secret) return fail(secret.error().code, "enrolment: " + secret.error().message);
  s.enrolment_secret = std::move(*secret);
  return {};
}

Status open_ca(const Config& c, Services& s) {
  auto dir = c.storage.data_dir / "pki";
  if (!std::filesystem::exists(dir / "ca.key")) return {};
  auto ca = pki::CertificateAuthority::load(dir / "ca.key", dir / "ca.crt");
  if (!ca) return fail(ca.error().code, "pki: " + ca.error().message);
  s.ca = std::move(*ca);
  return {};
}

Status open_log(const Config& c, Services& s) {
  std::string origin = c.log.origin.empty() ? default_origin() : c.log.origin;
  auto key = audit::load_or_create_log_key(c.storage.data_dir / "log.key", origin);
  if (!key) return fail(key.error().code, "log key: " + key.error().message);
  auto witnesses = witness_policy(c.log);
  if (!witnesses) return std::unexpected(witnesses.error());
  s.log = std::make_unique<audit::CustodyLog>(*s.meta, std::move(*key), std::move(*witnesses));
  s.log_api = std::make_unique<audit::LogApi>(*s.log);
  s.checkpointer = std::make_unique<jobs::Checkpointer>(
      *s.log, *s.meta, std::chrono::milliseconds(c.log.checkpoint_interval_ms), c.log.checkpoint_events);
  if (c.log.record_pulls)
    s.pulls = std::make_unique<jobs::PullRecorder>(*s.meta, std::chrono::milliseconds(c.log.checkpoint_interval_ms));
  return {};
}

Result<std::unique_ptr<Services>> open_services(const Config& c) {
  auto s = std::make_unique<Services>();
  std::error_code ec;
  std::filesystem::create_directories(c.storage.data_dir, ec);
  if (ec) return fail(ErrorCode::kInternal, "data directory: " + ec.message());
  auto blobs = storage::FsBlobStore::open_at(c.storage.data_dir);
  if (!blobs) return fail(blobs.error().code, "blob store: " + blobs.error().message);
  s->blobs = std::move(*blobs);
  auto meta = meta::SqliteMetaStore::open(c.storage.data_dir / "meta.db");
  if (!meta) return fail(meta.error().code, "metadata store: " + meta.error().message);
  s->meta = std::move(*meta);
  if (auto r = open_log(c, *s); !r) return std::unexpected(r.error());
  if (!c.auth.open()) {
    if (auto r = open_auth(c, *s); !r) return std::unexpected(r.error());
  }
  if (auto r = open_ca(c, *s); !r) return std::unexpected(r.error());
  s->registry = std::make_unique<registry::Registry>(
      *s->blobs, *s->meta, registry::RegistryLimits{c.limits.manifest_max_bytes, c.limits.upload_max_bytes});
  registry::ApiOptions api_options{c.limits.page_size_max, {}, s->gate.get()};
  if (s->pulls) api_options.on_pull = [p = s->pulls.get()](meta::Event e) { p->record(std::move(e)); };
  s->api = std::make_unique<registry::Api>(*s->registry, api_options);
  s->metrics.set_gauge_source([m = s->meta.get()] { return storage_gauges(*m); });
  auto access_log = http::AccessLog::open(c.server.access_log);
  if (!access_log) return fail(access_log.error().code, "access log: " + access_log.error().message);
  s->access_log = std::move(*access_log);
  return s;
}

http::Response Services::handle(http::Request& req) {
  if (req.path.starts_with("/v2")) return api->handle(req);
  if (req.path.starts_with("/log/")) return log_api->handle(req);
  if (token_endpoint && req.path == "/auth/token") return token_endpoint->handle(req);
  if (admin_api && req.path.starts_with("/api/v1/")) return admin_api->handle(req);
  if (req.path == "/pki/crl") return crl();
  return handle_operations(req);
}

bool Services::certificate_revoked(std::string_view serial) {
  bool revoked = true;  // if the store cannot answer, refuse the handshake
  (void)meta->read([&](meta::Txn& t) -> Status {
    auto v = t.identity().certificate_revoked(std::string(serial));
    if (!v) return std::unexpected(v.error());
    revoked = *v;
    return {};
  });
  return revoked;
}

http::Response Services::crl() {
  if (!ca) return plain(404, "no built-in CA here (custody pki init makes one)\n");
  pki::CrlRequest request;
  auto s = meta->read([&](meta::Txn& t) -> Status {
    auto serials = t.identity().revoked_certificates();
    if (!serials) return std::unexpected(serials.error());
    for (auto& serial : *serials) request.revoked.push_back({std::move(serial), 0});
    return {};
  });
  if (!s) return plain(503, "metadata store unavailable\n");
  auto list = ca->make_crl(request);
  if (!list) return plain(500, "cannot sign the CRL\n");
  auto r = plain(200, std::move(list->der), "application/pkix-crl");
  r.headers.set("Cache-Control", "max-age=300");
  r.route = "pki_crl";
  return r;
}

http::Response Services::handle_operations(const http::Request& req) {
  http::Response r;
  if (req.path == "/healthz") {
    r = plain(200, "ok\n");
  } else if (req.path == "/readyz") {
    auto s = meta->read([](meta::Txn& t) -> Status {
      auto totals = t.totals();
      if (!totals) return std::unexpected(totals.error());
      return {};
    });
    r = s ? plain(200, "ready\n") : plain(503, "metadata store unavailable\n");
  } else if (req.path == "/metrics") {
    r = plain(200, metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
  } else {
    r = plain(404, "not found\n");
    return r;
  }
  r.route = req.path.substr(1);
  return r;
}

http::ServerOptions server_options(const Config& c, const std::pair<std::string, uint16_t>& addr) {
  http::ServerOptions so;
  so.host = addr.first;
  so.port = addr.second;
  so.max_connections = c.server.max_connections;
  so.header_max_bytes = c.limits.header_max_bytes;
  so.idle_timeout_seconds = c.server.idle_timeout_seconds;
  so.shutdown_grace_seconds = c.server.shutdown_grace_seconds;
  const TlsConfig& tls = c.server.tls;
  if (!tls.cert.empty()) {
    http::ClientAuth auth = tls.client_auth == "require"   ? http::ClientAuth::kRequire
                            : tls.client_auth == "request" ? http::ClientAuth::kRequest
                                                           : http::ClientAuth::kNone;
    so.tls = http::TlsOptions{tls.cert, tls.key, tls.client_ca, auth, {}};
  }
  return so;
}

void announce(const Config& c, const Services& s, const std::string& bound_host, uint16_t port) {
  std::string host = bound_host.find(':') != std::string::npos ? "[" + bound_host + "]" : bound_host;
  if (host == "0.0.0.0" || host == "[::]") host = "127.0.0.1";
  bool tls = !c.server.tls.cert.empty();
  std::fprintf(stderr, "custody: serving %s://%s:%u (data in %s)\n", tls ? "https" : "http", host.c_str(), port,
               c.storage.data_dir.c_str());
  if (s.enrolment_secret) {
    std::fprintf(stderr,
                 "custody: enrolment: created system administrator \"admin\" with secret %s\n"
                 "custody: enrolment: this secret is shown only now; store it, e.g. "
                 "export CUSTODY_USER=admin CUSTODY_SECRET=%s\n",
                 s.enrolment_secret->c_str(), s.enrolment_secret->c_str());
  }
  std::string creds = c.auth.open() ? "" : " --dest-creds \"$CUSTODY_USER:$CUSTODY_SECRET\"";
  std::string tls_flag = tls ? fmt::format("--dest-cert-dir BUNDLE/certs.d/{}:{}", host, port) : "--dest-tls-verify=false";
  std::fprintf(stderr,
               "custody: try  skopeo copy %s%s oci-archive:../shared/images/busybox-tiny.oci.tar "
               "docker://%s:%u/%s/busybox:1\n",
               tls_flag.c_str(), creds.c_str(), host.c_str(), port, c.auth.open() ? "demo" : "admin");
  if (tls)
    std::fprintf(stderr, "custody: (BUNDLE from `custody pki bundle admin --registry %s:%u --out BUNDLE`, or "
                         "certs.d/%s:%u/ca.crt alone with --dest-creds)\n", host.c_str(), port, host.c_str(), port);
  std::fflush(stderr);
}

}  // namespace

Result<Config> load_config(const ServeOptions& o) {
  Config c;
  if (!o.config_path.empty()) {
    auto loaded = Config::load(o.config_path);
    if (!loaded) return loaded;
    c = *loaded;
  }
  if (!o.listen.empty()) c.server.listen = o.listen;
  if (!o.data_dir.empty()) c.storage.data_dir = o.data_dir;
  return c;
}

int run_serve(const ServeOptions& options) {
  // Signals are taken by one thread with sigwait, never by handlers; block
  // them before any thread starts so that every thread inherits the mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto config = load_config(options);
  if (!config) return fatal("start", config.error());
  auto addr = http::parse_listen_address(config->server.listen);
  if (!addr) return fatal("listen", addr.error());
  auto services = open_services(*config);
  if (!services) return fatal("start", services.error());
  Services& s = **services;
  auto so = server_options(*config, *addr);
  if (so.tls) so.tls->is_revoked = [&s](std::string_view serial) { return s.certificate_revoked(serial); };
  auto server = http::Server::listen(so, [&s](http::Request& req) { return s.handle(req); },
                                     &s.metrics, s.access_log.get());
  if (!server) return fatal("listen", server.error());
  if (auto r = enrol(*config, s); !r) return fatal("start", r.error());
  announce(*config, s, addr->first, (*server)->port());

  s.checkpointer->start();
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&sigs, &sig);
    std::fprintf(stderr, "custody: signal %d, draining connections\n", sig);
    (*server)->stop();
  });
  (*server)->run();  // returns once stop() was called and connections drained
  signal_thread.join();
  if (s.pulls) s.pulls->stop();
  s.checkpointer->stop();
  std::fprintf(stderr, "custody: stopped\n");
  return 0;
}

}  // namespace custody::cli
