// The subcommands of the `custody` binary.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/config.h"

namespace CLI {
class App;
}

namespace custody::cli {

struct ServeOptions {
  std::string config_path;
  std::string listen;
  std::string data_dir;
};

// The configuration file (if any) with the command line's overrides.
Result<Config> load_config(const ServeOptions& options);

// Runs `custody serve` until SIGTERM/SIGINT; returns the exit code.
int run_serve(const ServeOptions& options);

// The admin commands' options (whoami, user, org, repo, team, grant,
// robot), kept alive for the parse.
struct AdminConnection;
class AdminCommandLine {
 public:
  AdminCommandLine();
  ~AdminCommandLine();
  AdminConnection& connection();
  struct State;
  std::unique_ptr<State> state_;
};
void add_admin_commands(CLI::App& app, AdminCommandLine& line, int& rc);

// `custody enrol`: a new secret for an administrator, locally.
struct EnrolOptions {
  ServeOptions server;
  std::string name = "admin";
};
void add_enrol_command(CLI::App& app, EnrolOptions& options, int& rc);

// `custody pki init|bundle|revoke`.
struct PkiCommandLine {
  ServeOptions server;  // --config / --data: where the CA lives
  std::vector<std::string> hosts;
  std::string identity, registry, out, email, serial, reason;
  unsigned days = 0;
  bool force = false;
};
void add_pki_commands(CLI::App& app, PkiCommandLine& line, AdminCommandLine& admin, int& rc);

}  // namespace custody::cli
