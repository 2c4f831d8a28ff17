// CertificateAuthority: Custody's built-in CA (`custody pki init`). It
// issues the server certificate and the client certificates of users and
// robots, and signs the CRL served at the CRL endpoint.
//
// Keys are ECDSA P-256 (every TLS client supports it, and signatures are
// small); certificates are signed with SHA-256. Serials are random 128-bit
// numbers, shown as 32 lower-case hex digits: the form that
// http::TlsOptions::is_revoked receives and a revocation list stores.
//
// Issued certificates start 5 minutes in the past, so a client whose clock
// runs a little behind the server's can use a certificate at once, and
// never outlive the CA itself.
//
// Times: every request carries `now_s` (Unix seconds); 0 means the current
// time. Tests pin it; production leaves it 0.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace custody::pki {

struct RootOptions {
  std::string common_name = "Custody Root CA";
  std::string organization;  // optional O= in the subject
  uint32_t validity_days = 3650;
  int64_t now_s = 0;
};

struct ServerCertificateRequest {
  // DNS names ("registry.example", "*.example", "localhost") and IP address
  // literals ("127.0.0.1", "::1"), all put in the subjectAltName; the first
  // is also the CN. At least one.
  std::vector<std::string> hosts;
  uint32_t validity_days = 365;
  int64_t now_s = 0;
};

struct ClientCertificateRequest {
  // The account name (see pki::is_plausible_identity_name): it becomes the
  // CN and the SAN URI custody://principal/<identity>, so any of the three
  // SubjectMappings finds it.
  std::string identity;
  std::string email;  // optional rfc822Name SAN
  uint32_t validity_days = 90;
  int64_t now_s = 0;
};

// A certificate and its freshly generated private key.
struct IssuedCertificate {
  std::string key_pem;   // PKCS#8, unencrypted: store it mode 0600
  std::string cert_pem;
  std::string serial_hex;
  int64_t not_after_s = 0;
};

struct RevokedCertificate {
  std::string serial_hex;
  int64_t revoked_at_s = 0;
};

struct CrlRequest {
  std::vector<RevokedCertificate> revoked;
  // The cRLNumber extension: it must grow with every CRL published, so
  // relying parties can tell the newer one. 0 means now_s.
  uint64_t number = 0;
  // nextUpdate = thisUpdate + this; clients refetch by then.
  uint32_t validity_seconds = 24 * 3600;
  int64_t now_s = 0;
};

// A signed X.509 v2 CRL in both encodings (DER is what a CRL endpoint
// serves as application/pkix-crl; PEM is what OpenSSL tools read).
struct Crl {
  std::string der;
  std::string pem;
};

class CertificateAuthority {
 public:
  // A new self-signed root: basicConstraints CA:TRUE (critical), keyUsage
  // keyCertSign + cRLSign (critical), subject key identifier.
  static Result<CertificateAuthority> create(const RootOptions& options);
  // An existing CA: the key must match the certificate, and the
  // certificate must be a CA allowed to sign certificates.
  static Result<CertificateAuthority> from_pem(std::string_view key_pem, std::string_view cert_pem);
  // As from_pem, from files. A key file that its group or others may read
  // is refused (kFailedPrecondition), as ssh does: it may already be copied.
  static Result<CertificateAuthority> load(const std::filesystem::path& key_file,
                                           const std::filesystem::path& cert_file);

  CertificateAuthority(CertificateAuthority&&) noexcept;
  CertificateAuthority& operator=(CertificateAuthority&&) noexcept;
  ~CertificateAuthority();

  // Writes the key (mode 0600) and the certificate (0644). Existing files
  // are kAlreadyExists unless `overwrite`.
  Status save(const std::filesystem::path& key_file, const std::filesystem::path& cert_file,
              bool overwrite = false) const;

  // EKU serverAuth.
  Result<IssuedCertificate> issue_server(const ServerCertificateRequest& request) const;
  // EKU clientAuth.
  Result<IssuedCertificate> issue_client(const ClientCertificateRequest& request) const;
  Result<Crl> make_crl(const CrlRequest& request) const;

  const std::string& certificate_pem() const;
  std::string certificate_der() const;
  std::string serial_hex() const;
  int64_t not_after_s() const;

  struct Material;  // OpenSSL objects; defined in pki/ca_internal.h

 private:
  explicit CertificateAuthority(std::unique_ptr<Material> m);
  std::unique_ptr<Material> m_;
};

// Writes an issued key (mode 0600) and certificate (0644), durably. Without
// `overwrite`, existing files are kAlreadyExists and nothing is written.
Status save_issued(const IssuedCertificate& issued, const std::filesystem::path& key_file,
                   const std::filesystem::path& cert_file, bool overwrite = false);

}  // namespace custody::pki
