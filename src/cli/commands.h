// The subcommands of the `custody` binary.
#pragma once

#include <string>

namespace custody::cli {

struct ServeOptions {
  std::string config_path;
  std::string listen;
  std::string data_dir;
};

// Runs `custody serve` until SIGTERM/SIGINT; returns the exit code.
int run_serve(const ServeOptions& options);

}  // namespace custody::cli
