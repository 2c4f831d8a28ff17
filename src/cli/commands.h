// The subcommands of the `custody` binary.
#pragma once

#include <string>

#include "common/config.h"

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

}  // namespace custody::cli
