// Client bundles (`custody pki bundle <user|robot>`): everything a client
// needs to reach the registry over mutual TLS, as files in one directory.
//
//   <dir>/client.key, client.cert, ca.crt      for curl, OpenSSL and friends
//   <dir>/certs.d/<host:port>/{ca.crt,client.cert,client.key}
//       the layout docker (/etc/docker/certs.d), podman and skopeo
//       (/etc/containers/certs.d, or --cert-dir) look for
//   <dir>/env.sh                               source it: CUSTODY_* variables
//                                              and example commands
//
// Private keys are written mode 0600 and new directories 0700.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/error.h"

namespace custody::pki {

struct ClientBundle {
  // How clients address the registry, "host:port" (or "[v6]:port"): it
  // names the certs.d directory, which must match what image references use.
  std::string registry;
  std::string identity;  // for the comments in env.sh
  std::string key_pem;
  std::string cert_pem;
  std::string ca_pem;
};

// Writes the bundle into `dir` (created if missing) and returns the files
// written. Unless `overwrite`, any existing bundle file is kAlreadyExists
// and nothing at all is written.
Result<std::vector<std::filesystem::path>> write_client_bundle(const std::filesystem::path& dir,
                                                               const ClientBundle& bundle, bool overwrite = false);

// The text of env.sh for a bundle written to `dir` (an absolute path).
std::string bundle_env_script(const std::filesystem::path& dir, const ClientBundle& bundle);

}  // namespace custody::pki
