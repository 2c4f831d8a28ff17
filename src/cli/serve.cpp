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

}  // namespace

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
  const Config& c = *config;
  auto addr = http::parse_listen_address(c.server.listen);
  if (!addr) return fatal("listen", addr.error());

  std::error_code ec;
  std::filesystem::create_directories(c.storage.data_dir, ec);
  if (ec) return fatal("data directory", Error::internal(ec.message()));
  auto blobs = storage::FsBlobStore::open_at(c.storage.data_dir);
  if (!blobs) return fatal("blob store", blobs.error());
  auto meta = meta::SqliteMetaStore::open(c.storage.data_dir / "meta.db");
  if (!meta) return fatal("metadata store", meta.error());

  std::string origin = c.log.origin.empty() ? default_origin() : c.log.origin;
  auto log_key = audit::load_or_create_log_key(c.storage.data_dir / "log.key", origin);
  if (!log_key) return fatal("log key", log_key.error());
  auto witnesses = witness_policy(c.log);
  if (!witnesses) return fatal("config", witnesses.error());
  audit::CustodyLog custody_log(**meta, std::move(*log_key), std::move(*witnesses));
  audit::LogApi log_api(custody_log);
  jobs::Checkpointer checkpointer(custody_log, **meta, std::chrono::milliseconds(c.log.checkpoint_interval_ms),
                                  c.log.checkpoint_events);

  registry::Registry reg(**blobs, **meta, {c.limits.manifest_max_bytes, c.limits.upload_max_bytes});
  std::optional<jobs::PullRecorder> pulls;
  registry::ApiOptions api_options{c.limits.page_size_max, {}};
  if (c.log.record_pulls) {
    pulls.emplace(**meta, std::chrono::milliseconds(c.log.checkpoint_interval_ms));
    api_options.on_pull = [&pulls](meta::Event e) { pulls->record(std::move(e)); };
  }
  registry::Api api(reg, api_options);
  http::Metrics metrics;
  metrics.set_gauge_source([&] { return storage_gauges(**meta); });
  auto access_log = http::AccessLog::open(c.server.access_log);
  if (!access_log) return fatal("access log", access_log.error());

  auto handler = [&](http::Request& req) -> http::Response {
    if (req.path.starts_with("/v2")) return api.handle(req);
    if (req.path.starts_with("/log/")) return log_api.handle(req);
    http::Response r;
    if (req.path == "/healthz") {
      r = plain(200, "ok\n");
    } else if (req.path == "/readyz") {
      auto s = (*meta)->read([](meta::Txn& t) -> Status {
        auto r = t.totals();
        if (!r) return std::unexpected(r.error());
        return {};
      });
      r = s ? plain(200, "ready\n") : plain(503, "metadata store unavailable\n");
    } else if (req.path == "/metrics") {
      r = plain(200, metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
    } else {
      r = plain(404, "not found\n");
    }
    r.route = req.path == "/healthz" || req.path == "/readyz" || req.path == "/metrics" ? req.path.substr(1) : "other";
    return r;
  };

  http::ServerOptions so;
  so.host = addr->first;
  so.port = addr->second;
  so.max_connections = c.server.max_connections;
  so.header_max_bytes = c.limits.header_max_bytes;
  so.idle_timeout_seconds = c.server.idle_timeout_seconds;
  so.shutdown_grace_seconds = c.server.shutdown_grace_seconds;
  auto server = http::Server::listen(so, handler, &metrics, access_log->get());
  if (!server) return fatal("listen", server.error());

  std::string host = addr->first.find(':') != std::string::npos ? "[" + addr->first + "]" : addr->first;
  if (host == "0.0.0.0" || host == "[::]") host = "127.0.0.1";
  std::fprintf(stderr,
               "custody: serving http://%s:%u (data in %s)\n"
               "custody: try  skopeo copy --dest-tls-verify=false oci-archive:IMAGE.tar docker://%s:%u/demo/app:1\n",
               host.c_str(), (*server)->port(), c.storage.data_dir.c_str(), host.c_str(), (*server)->port());
  std::fflush(stderr);

  checkpointer.start();
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&sigs, &sig);
    std::fprintf(stderr, "custody: signal %d, draining connections\n", sig);
    (*server)->stop();
  });
  (*server)->run();
  // run() returns only after stop(); the signal thread has finished.
  signal_thread.join();
  if (pulls) pulls->stop();
  checkpointer.stop();
  std::fprintf(stderr, "custody: stopped\n");
  return 0;
}

}  // namespace custody::cli
