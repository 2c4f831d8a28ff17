// `custody enrol`: local recovery of administrator access. It writes the
// data directory directly (a running server picks the change up at once),
// so it needs exactly what an attacker would need to bypass any check
// anyway: write access to the data directory.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "auth/enrolment.h"
#include "cli/commands.h"
#include "meta/sqlite_meta_store.h"

namespace custody::cli {
namespace {

int run_enrol(const EnrolOptions& o) {
  auto config = load_config(o.server);
  if (!config) return std::fprintf(stderr, "custody enrol: %s\n", config.error().message.c_str()), 1;
  auto path = config->storage.data_dir / "meta.db";
  if (!std::filesystem::exists(path))
    return std::fprintf(stderr, "custody enrol: no metadata store at %s (wrong --data?)\n", path.c_str()), 1;
  auto meta = meta::SqliteMetaStore::open(path);
  if (!meta) return std::fprintf(stderr, "custody enrol: %s\n", meta.error().message.c_str()), 1;
  bool was_admin = false;
  (void)(*meta)->read([&](meta::Txn& t) -> Status {
    auto p = t.identity().principal(o.name);
    if (p && *p) was_admin = (*p)->system_admin;
    return {};
  });
  auto secret = auth::recover_admin(**meta, o.name);
  if (!secret) return std::fprintf(stderr, "custody enrol: %s\n", secret.error().message.c_str()), 1;
  if (!was_admin)
    std::fprintf(stderr, "custody enrol: warning: %s was not a system administrator; it is one now\n", o.name.c_str());
  std::fprintf(stderr, "custody enrol: %s is a system administrator with a new secret (shown only now):\n",
               o.name.c_str());
  std::printf("%s\n", secret->c_str());
  return 0;
}

}  // namespace

void add_enrol_command(CLI::App& app, EnrolOptions& o, int& rc) {
  auto* cmd = app.add_subcommand("enrol", "Recover administrator access: a new secret, written to the data directory");
  cmd->add_option("--config", o.server.config_path, "TOML configuration file (for the data directory)");
  cmd->add_option("--data", o.server.data_dir, "Data directory");
  cmd->add_option("--name", o.name, "The user to make a system administrator (default admin)");
  cmd->callback([&] { rc = run_enrol(o); });
}

}  // namespace custody::cli
