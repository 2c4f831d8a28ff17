#include "pki/bundle.h"

#include <sys/types.h>

#include <algorithm>

#include <fmt/format.h>

#include "pki/files.h"
#include "pki/ossl.h"

namespace custody::pki {
namespace {

struct BundleFile {
  std::filesystem::path path;
  const std::string* data;
  mode_t mode;
};

// The registry address becomes a directory name and a shell word, so only
// what a host, an IPv6 literal and a port are made of is allowed: no '/',
// no quotes, no spaces, no leading dot.
bool is_registry_address(std::string_view s) {
  if (s.empty() || s.size() > 261 || s.front() == '.' || s.find("..") != std::string_view::npos) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
           c == ':' || c == '[' || c == ']';
  });
}

std::string shell_single_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

// For a comment line: a newline in it would start a command.
std::string comment_safe(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out;
}

Status check_contents(const ClientBundle& b) {
  if (!is_registry_address(b.registry))
    return fail(ErrorCode::kInvalidArgument, fmt::format("{:?} is not a registry address (host:port)", b.registry));
  ossl::ErrorMark mark;
  auto key = ossl::parse_private_key_pem(b.key_pem);
  if (!key) return fail(ErrorCode::kInvalidArgument, "bundle key: " + key.error().message);
  auto cert = ossl::parse_certificate_pem(b.cert_pem);
  if (!cert) return fail(ErrorCode::kInvalidArgument, "bundle certificate: " + cert.error().message);
  if (X509_check_private_key(cert->get(), key->get()) != 1)
    return fail(ErrorCode::kInvalidArgument, "the bundle key does not match its certificate");
  if (auto ca = ossl::parse_certificate_pem(b.ca_pem); !ca)
    return fail(ErrorCode::kInvalidArgument, "bundle CA: " + ca.error().message);
  return {};
}

}  // namespace

std::string bundle_env_script(const std::filesystem::path& dir, const ClientBundle& b) {
  return fmt::format(
      R"sh(# Custody client bundle: {identity} at {registry}.
# Load it into a shell with:  . {dir}/env.sh
# From bash the files are found next to this script, wherever it was moved;
# other shells use the directory it was written to.
if [ -n "${{BASH_SOURCE:-}}" ]; then
  CUSTODY_BUNDLE=$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)
else
  CUSTODY_BUNDLE={quoted_dir}
fi
export CUSTODY_BUNDLE
export CUSTODY_REGISTRY='{registry}'
export CUSTODY_CA_CERT="$CUSTODY_BUNDLE/ca.crt"
export CUSTODY_CLIENT_CERT="$CUSTODY_BUNDLE/client.cert"
export CUSTODY_CLIENT_KEY="$CUSTODY_BUNDLE/client.key"
export CUSTODY_CERT_DIR="$CUSTODY_BUNDLE/certs.d/$CUSTODY_REGISTRY"

# OpenSSL-based tools trust the registry's CA through SSL_CERT_FILE, but it
# replaces the system CAs for everything in the shell; only in a shell that
# talks to nothing else:
#   export SSL_CERT_FILE="$CUSTODY_CA_CERT"
#
# skopeo, mutual TLS (no password):
#   skopeo inspect --cert-dir "$CUSTODY_CERT_DIR" "docker://$CUSTODY_REGISTRY/org/app:1.0"
#   skopeo copy --dest-cert-dir "$CUSTODY_CERT_DIR" oci:./app "docker://$CUSTODY_REGISTRY/org/app:1.0"
# docker and podman read certs.d/<host:port>/ from fixed places:
#   sudo cp -r "$CUSTODY_CERT_DIR" /etc/docker/certs.d/        # docker
#   sudo cp -r "$CUSTODY_CERT_DIR" /etc/containers/certs.d/    # podman, system-wide
#   mkdir -p ~/.config/containers/certs.d && cp -r "$CUSTODY_CERT_DIR" ~/.config/containers/certs.d/  # rootless podman
# curl:
#   curl --cacert "$CUSTODY_CA_CERT" --cert "$CUSTODY_CLIENT_CERT" --key "$CUSTODY_CLIENT_KEY" "https://$CUSTODY_REGISTRY/v2/"
)sh",
      fmt::arg("identity", comment_safe(b.identity)), fmt::arg("registry", b.registry),
      fmt::arg("dir", comment_safe(dir.string())), fmt::arg("quoted_dir", shell_single_quote(dir.string())));
}

Result<std::vector<std::filesystem::path>> write_client_bundle(const std::filesystem::path& dir,
                                                               const ClientBundle& bundle, bool overwrite) {
  if (auto s = check_contents(bundle); !s) return std::unexpected(s.error());
  std::filesystem::path root = std::filesystem::absolute(dir);
  std::filesystem::path certs_d = root / "certs.d" / bundle.registry;
  std::string env = bundle_env_script(root, bundle);
  const std::vector<BundleFile> files = {
      {root / "client.key", &bundle.key_pem, 0600},      {root / "client.cert", &bundle.cert_pem, 0644},
      {root / "ca.crt", &bundle.ca_pem, 0644},           {certs_d / "client.key", &bundle.key_pem, 0600},
      {certs_d / "client.cert", &bundle.cert_pem, 0644}, {certs_d / "ca.crt", &bundle.ca_pem, 0644},
      {root / "env.sh", &env, 0644},
  };
  std::vector<std::filesystem::path> paths;
  for (const BundleFile& f : files) paths.push_back(f.path);
  if (!overwrite) {
    if (auto s = internal::ensure_absent(paths); !s) return std::unexpected(s.error());
  }
  if (auto s = internal::make_directories(certs_d, 0700); !s) return std::unexpected(s.error());
  for (const BundleFile& f : files) {
    if (auto s = internal::write_file(f.path, *f.data, f.mode, overwrite); !s) return std::unexpected(s.error());
  }
  return paths;
}

}  // namespace custody::pki
