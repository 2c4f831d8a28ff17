// custody: the registry server and its client/admin tool in one binary.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "cli/commands.h"
#include "cli/log_session.h"

int main(int argc, char** argv) {
  CLI::App app{"custody: a container registry that keeps the chain of custody"};
  app.require_subcommand(1);
  custody::cli::ServeOptions serve;
  auto* serve_cmd = app.add_subcommand("serve", "Run the registry server");
  serve_cmd->add_option("--config", serve.config_path, "TOML configuration file");
  serve_cmd->add_option("--listen", serve.listen, "Address to listen on (host:port), overrides the config");
  serve_cmd->add_option("--data", serve.data_dir, "Data directory, overrides the config");
  int rc = 0;
  serve_cmd->callback([&] { rc = custody::cli::run_serve(serve); });
  custody::cli::LogCommandLine log;
  custody::cli::add_log_commands(app, log, rc);
  custody::cli::AdminCommandLine admin;
  custody::cli::add_admin_commands(app, admin, rc);
  custody::cli::EnrolOptions enrol;
  custody::cli::add_enrol_command(app, enrol, rc);
  custody::cli::PkiCommandLine pki;
  custody::cli::add_pki_commands(app, pki, admin, rc);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return rc;
}
