// `custody pki init|bundle|revoke`: the built-in CA on the command line.
// init and bundle work on the data directory (where the CA key lives, so
// they run on the registry host); revoke goes through the admin API.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include <unistd.h>

#include <algorithm>

#include "cli/admin_client.h"
#include "http/server.h"
#include "cli/commands.h"
#include "meta/sqlite_meta_store.h"
#include "pki/bundle.h"
#include "pki/ca.h"
#include "pki/subject.h"

namespace custody::cli {
namespace {

namespace fs = std::filesystem;

int failed(const char* command, const std::string& message) {
  std::fprintf(stderr, "custody pki %s: %s\n", command, message.c_str());
  return 1;
}

Result<fs::path> pki_dir(const ServeOptions& server) {
  auto config = load_config(server);
  if (!config) return std::unexpected(config.error());
  return fs::absolute(config->storage.data_dir / "pki");
}

// The names the server certificate covers when --host is not given: the
// configured listen host (unless it is a wildcard), this machine's name,
// and the loopback names.
std::vector<std::string> default_hosts(const ServeOptions& server) {
  std::vector<std::string> hosts;
  auto add = [&](std::string h) {
    if (!h.empty() && std::find(hosts.begin(), hosts.end(), h) == hosts.end()) hosts.push_back(std::move(h));
  };
  if (auto config = load_config(server)) {
    if (auto addr = http::parse_listen_address(config->server.listen))
      if (addr->first != "0.0.0.0" && addr->first != "::") add(addr->first);
  }
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) == 0) add(name);
  add("localhost");
  add("127.0.0.1");
  add("::1");
  return hosts;
}

int run_init(const PkiCommandLine& o) {
  auto dir = pki_dir(o.server);
  if (!dir) return failed("init", dir.error().message);
  std::vector<std::string> hosts = o.hosts.empty() ? default_hosts(o.server) : o.hosts;
  std::error_code ec;
  fs::create_directories(*dir, ec);
  if (ec) return failed("init", dir->string() + ": " + ec.message());
  fs::permissions(*dir, fs::perms::owner_all, ec);
  // Everything is made before anything is written, and nothing is written
  // over an existing file without --force: a bad --host leaves no half CA.
  auto ca = pki::CertificateAuthority::create({});
  if (!ca) return failed("init", ca.error().message);
  pki::ServerCertificateRequest request;
  request.hosts = hosts;
  if (o.days) request.validity_days = o.days;
  auto server = ca->issue_server(request);
  if (!server) return failed("init", server.error().message);
  const fs::path files[] = {*dir / "ca.key", *dir / "ca.crt", *dir / "server.key", *dir / "server.crt"};
  if (!o.force)
    for (const auto& f : files)
      if (fs::exists(f)) return failed("init", f.string() + " exists already (--force replaces the CA)");
  Status saved = ca->save(files[0], files[1], o.force);
  if (saved) saved = pki::save_issued(*server, files[2], files[3], o.force);
  if (!saved) {
    if (!o.force)
      for (const auto& f : files) fs::remove(f, ec);
    return failed("init", saved.error().message);
  }
  std::string names;
  for (const auto& h : hosts) names += (names.empty() ? "" : ", ") + h;
  std::printf("custody pki init: server certificate for %s\n", names.c_str());
  std::printf("custody pki init: CA and server certificate written to %s\n\n"
              "Serve them with, in the config file:\n\n"
              "[server.tls]\ncert = \"%s/server.crt\"\nkey = \"%s/server.key\"\n"
              "client_ca = \"%s/ca.crt\"\nclient_auth = \"request\"   # or \"require\"\n\n"
              "Clients trust %s/ca.crt.\n",
              dir->c_str(), dir->c_str(), dir->c_str(), dir->c_str(), dir->c_str());
  return 0;
}

// Warns when the data directory has no account of that name: the
// certificate would authenticate nobody until one is made.
void warn_unknown_account(const ServeOptions& server, const std::string& identity) {
  auto config = load_config(server);
  if (!config || !fs::exists(config->storage.data_dir / "meta.db")) return;
  auto meta = meta::SqliteMetaStore::open(config->storage.data_dir / "meta.db");
  if (!meta) return;
  bool known = true;
  (void)(*meta)->read([&](meta::Txn& t) -> Status {
    auto p = t.identity().principal(identity);
    if (p) known = p->has_value();
    return {};
  });
  if (!known)
    std::fprintf(stderr, "custody pki bundle: warning: there is no account %s yet; until there is "
                         "(custody user add / custody robot add), this certificate authenticates nobody\n",
                 identity.c_str());
}

int run_bundle(const PkiCommandLine& o) {
  auto dir = pki_dir(o.server);
  if (!dir) return failed("bundle", dir.error().message);
  if (!pki::is_plausible_identity_name(o.identity)) return failed("bundle", "not an account name: " + o.identity);
  auto ca = pki::CertificateAuthority::load(*dir / "ca.key", *dir / "ca.crt");
  if (!ca) return failed("bundle", ca.error().message + " (has `custody pki init` run on this data directory?)");
  pki::ClientCertificateRequest request;
  request.identity = o.identity;
  request.email = o.email;
  if (o.days) request.validity_days = o.days;
  auto issued = ca->issue_client(request);
  if (!issued) return failed("bundle", issued.error().message);
  pki::ClientBundle bundle{o.registry, o.identity, issued->key_pem, issued->cert_pem, ca->certificate_pem()};
  auto files = pki::write_client_bundle(fs::absolute(o.out), bundle, o.force);
  if (!files) return failed("bundle", files.error().message);
  warn_unknown_account(o.server, o.identity);
  std::printf("custody pki bundle: certificate for %s (serial %s) written to %s\n",
              o.identity.c_str(), issued->serial_hex.c_str(), fs::absolute(o.out).c_str());
  std::printf("  skopeo: --cert-dir %s/certs.d/%s    docker/podman: copy certs.d/ to /etc/docker or /etc/containers\n",
              fs::absolute(o.out).c_str(), o.registry.c_str());
  std::printf("  source %s/env.sh for the variables; revoke with: custody pki revoke %s\n",
              fs::absolute(o.out).c_str(), issued->serial_hex.c_str());
  return 0;
}

}  // namespace

void add_pki_commands(CLI::App& app, PkiCommandLine& o, AdminCommandLine& admin, int& rc) {
  auto* pki = app.add_subcommand("pki", "The built-in certificate authority: server and client certificates");
  pki->require_subcommand(1);
  auto* init = pki->add_subcommand("init", "Make the root CA and the server certificate under <data>/pki");
  init->add_option("--config", o.server.config_path, "TOML configuration file (for the data directory)");
  init->add_option("--data", o.server.data_dir, "Data directory");
  init->add_option("--host", o.hosts,
                   "A DNS name or IP address of the server (repeatable; default: the configured listen host, "
                   "this machine's name, localhost, 127.0.0.1, ::1)");
  init->add_option("--days", o.days, "Server certificate validity (default 365)");
  init->add_flag("--force", o.force, "Replace an existing CA");
  init->callback([&] { rc = run_init(o); });

  auto* bundle = pki->add_subcommand("bundle", "Issue a client certificate bundle for an account");
  bundle->add_option("identity", o.identity, "The user or robot (robot$org+name)")->required();
  bundle->add_option("--registry", o.registry, "host:port as clients name the registry")->required();
  bundle->add_option("--out", o.out, "Directory to write the bundle into")->required();
  bundle->add_option("--config", o.server.config_path, "TOML configuration file (for the data directory)");
  bundle->add_option("--data", o.server.data_dir, "Data directory");
  bundle->add_option("--email", o.email, "Also put this email in the certificate");
  bundle->add_option("--days", o.days, "Validity (default 90)");
  bundle->add_flag("--force", o.force, "Overwrite an existing bundle");
  bundle->callback([&] { rc = run_bundle(o); });

  auto* revoke = pki->add_subcommand("revoke", "Revoke a certificate (through the admin API)");
  revoke->add_option("serial", o.serial, "The serial, as `custody pki bundle` printed it")->required();
  revoke->add_option("--reason", o.reason, "Why, for the log");
  add_admin_connection_options(revoke, admin.connection());
  revoke->callback([&] { rc = run_pki_revoke(admin.connection(), o.serial, o.reason); });
}

}  // namespace custody::cli
