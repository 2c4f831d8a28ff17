#include <signal.h>

#include <cstdio>
#include <thread>

#include <fmt/format.h>

#include <unistd.h>

#include "audit/log_api.h"
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

  http::Response handle(http::Request& req);
  http::Response handle_operations(const http::Request& req);
};

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
  s->registry = std::make_unique<registry::Registry>(
      *s->blobs, *s->meta, registry::RegistryLimits{c.limits.manifest_max_bytes, c.limits.upload_max_bytes});
  registry::ApiOptions api_options{c.limits.page_size_max, {}};
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
  return handle_operations(req);
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

void announce(const Config& c, const std::string& bound_host, uint16_t port) {
  std::string host = bound_host.find(':') != std::string::npos ? "[" + bound_host + "]" : bound_host;
  if (host == "0.0.0.0" || host == "[::]") host = "127.0.0.1";
  bool tls = !c.server.tls.cert.empty();
  std::fprintf(stderr, "custody: serving %s://%s:%u (data in %s)\n", tls ? "https" : "http", host.c_str(), port,
               c.storage.data_dir.c_str());
  if (!tls)
    std::fprintf(stderr,
                 "custody: try  skopeo copy --dest-tls-verify=false oci-archive:IMAGE.tar docker://%s:%u/demo/app:1\n",
                 host.c_str(), port);
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
  if (!config) return fatal("config", config.error());
  auto addr = http::parse_listen_address(config->server.listen);
  if (!addr) return fatal("listen", addr.error());
  auto services = open_services(*config);
  if (!services) return fatal("start", services.error());
  Services& s = **services;
  auto server = http::Server::listen(server_options(*config, *addr), [&s](http::Request& req) { return s.handle(req); },
                                     &s.metrics, s.access_log.get());
  if (!server) return fatal("listen", server.error());
  announce(*config, addr->first, (*server)->port());

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
