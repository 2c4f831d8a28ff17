// The CA itself: creating, loading, saving. Issuing is in ca_issue.cpp,
// the CRL in crl.cpp.
#include "pki/ca.h"

#include <sys/stat.h>

#include <array>
#include <cerrno>

#include <fmt/format.h>

#include "common/file.h"
#include "common/time.h"
#include "pki/ca_internal.h"
#include "pki/files.h"

namespace custody::pki {
namespace {

constexpr size_t kMaxPemFileBytes = 1024 * 1024;
constexpr uint32_t kMaxRootDays = 100 * 365;
// X.520 upper bound for CN and O (RFC 5280 ub-common-name).
constexpr size_t kMaxNameAttribute = 64;

Status check_usable_ca(X509* cert, EVP_PKEY* key) {
  uint32_t flags = X509_get_extension_flags(cert);
  if (flags & EXFLAG_INVALID) return fail(ErrorCode::kInvalidArgument, "the CA certificate has malformed extensions");
  if (!(flags & EXFLAG_CA))
    return fail(ErrorCode::kInvalidArgument, "not a CA certificate (basicConstraints CA:TRUE is missing)");
  if ((flags & EXFLAG_KUSAGE) && !(X509_get_key_usage(cert) & KU_KEY_CERT_SIGN))
    return fail(ErrorCode::kInvalidArgument, "the CA certificate's keyUsage does not allow keyCertSign");
  if (X509_check_private_key(cert, key) != 1)
    return fail(ErrorCode::kInvalidArgument, "the CA key does not match the CA certificate");
  return {};
}

// Like ssh with identity files: a CA key that others could read may
// already be copied, and refusing it is how the operator learns that.
Status check_key_file_mode(const std::filesystem::path& key_file) {
  struct stat st {};
  if (::stat(key_file.c_str(), &st) != 0) {
    int err = errno;
    return fail(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kInternal,
                fmt::format("CA key {}: {}", key_file.string(), errno_text(err)));
  }
  if (st.st_mode & (S_IRWXG | S_IRWXO))
    return fail(ErrorCode::kFailedPrecondition,
                fmt::format("CA key {} is accessible to group or others (mode {:o}); chmod 600 it",
                            key_file.string(), st.st_mode & 0777));
  return {};
}

}  // namespace

namespace internal {

int64_t resolve_now(int64_t now_s) { return now_s != 0 ? now_s : now_unix_ms() / 1000; }

const EVP_MD* signing_digest(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448")) return nullptr;
  return EVP_sha256();
}

Result<ossl::PkeyPtr> generate_key() {
  ossl::PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return fail(ErrorCode::kInternal, "cannot generate a P-256 key: " + ossl::last_error());
  return key;
}

Result<ossl::NamePtr> make_name(std::string_view common_name, std::string_view organization) {
  if (common_name.empty() || common_name.size() > kMaxNameAttribute || organization.size() > kMaxNameAttribute)
    return fail(ErrorCode::kInvalidArgument, fmt::format("certificate name attributes are 1 to {} characters",
                                                         kMaxNameAttribute));
  ossl::NamePtr name(X509_NAME_new());
  auto add = [&](int nid, std::string_view value) {
    return X509_NAME_add_entry_by_NID(name.get(), nid, MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(value.data()),
                                      static_cast<int>(value.size()), -1, 0) == 1;
  };
  if (!name || (!organization.empty() && !add(NID_organizationName, organization)) ||
      !add(NID_commonName, common_name))
    return fail(ErrorCode::kInvalidArgument, "cannot build a certificate name: " + ossl::last_error());
  return name;
}

Status add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ossl::ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1)
    return fail(ErrorCode::kInternal, fmt::format("certificate extension {}: {}", value, ossl::last_error()));
  return {};
}

Status sign(X509* cert, EVP_PKEY* key) {
  if (X509_sign(cert, key, signing_digest(key)) <= 0)
    return fail(ErrorCode::kInternal, "signing the certificate failed: " + ossl::last_error());
  return {};
}

}  // namespace internal

CertificateAuthority::CertificateAuthority(std::unique_ptr<Material> m) : m_(std::move(m)) {}
CertificateAuthority::CertificateAuthority(CertificateAuthority&&) noexcept = default;
CertificateAuthority& CertificateAuthority::operator=(CertificateAuthority&&) noexcept = default;
CertificateAuthority::~CertificateAuthority() = default;

Result<CertificateAuthority> CertificateAuthority::create(const RootOptions& options) {
  ossl::ErrorMark mark;
  if (options.validity_days == 0 || options.validity_days > kMaxRootDays)
    return fail(ErrorCode::kInvalidArgument, fmt::format("CA validity is 1 to {} days", kMaxRootDays));
  auto key = internal::generate_key();
  if (!key) return std::unexpected(key.error());
  auto name = internal::make_name(options.common_name, options.organization);
  if (!name) return std::unexpected(name.error());
  int64_t now = internal::resolve_now(options.now_s);
  auto cert = internal::new_certificate(name->get(), name->get(), key->get(), now - internal::kBackdateSeconds,
                                        now + int64_t{options.validity_days} * internal::kSecondsPerDay);
  if (!cert) return std::unexpected(cert.error());
  X509* c = cert->get();
  // The subject key identifier goes first: the authority key identifier
  // of a self-signed certificate is read from it.
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                            std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"},
                            std::pair{NID_subject_key_identifier, "hash"},
                            std::pair{NID_authority_key_identifier, "keyid:always"}}) {
    if (auto s = internal::add_extension(c, c, nid, value); !s) return std::unexpected(s.error());
  }
  if (auto s = internal::sign(c, key->get()); !s) return std::unexpected(s.error());
  auto pem = ossl::certificate_pem(c);
  if (!pem) return std::unexpected(pem.error());
  auto key_pem = ossl::private_key_pem(key->get());
  if (!key_pem) return std::unexpected(key_pem.error());
  return from_pem(*key_pem, *pem);  // the same checks as for a loaded CA
}

Result<CertificateAuthority> CertificateAuthority::from_pem(std::string_view key_pem, std::string_view cert_pem) {
  ossl::ErrorMark mark;
  auto m = std::make_unique<Material>();
  auto key = ossl::parse_private_key_pem(key_pem);
  if (!key) return fail(ErrorCode::kInvalidArgument, "CA key: " + key.error().message);
  auto cert = ossl::parse_certificate_pem(cert_pem);
  if (!cert) return fail(ErrorCode::kInvalidArgument, "CA certificate: " + cert.error().message);
  if (auto s = check_usable_ca(cert->get(), key->get()); !s) return std::unexpected(s.error());
  auto not_after = ossl::time_to_unix(X509_get0_notAfter(cert->get()));
  if (!not_after) return std::unexpected(not_after.error());
  auto pem = ossl::certificate_pem(cert->get());  // just this one certificate, re-encoded
  if (!pem) return std::unexpected(pem.error());
  m->key = std::move(*key);
  m->cert = std::move(*cert);
  m->cert_pem = std::move(*pem);
  m->not_after_s = *not_after;
  return CertificateAuthority(std::move(m));
}

Result<CertificateAuthority> CertificateAuthority::load(const std::filesystem::path& key_file,
                                                        const std::filesystem::path& cert_file) {
  if (auto s = check_key_file_mode(key_file); !s) return std::unexpected(s.error());
  auto key = read_small_file(key_file, kMaxPemFileBytes);
  if (!key) return std::unexpected(key.error());
  auto cert = read_small_file(cert_file, kMaxPemFileBytes);
  if (!cert) return std::unexpected(cert.error());
  auto ca = from_pem(*key, *cert);
  if (!ca) return fail(ca.error().code, fmt::format("{} / {}: {}", key_file.string(), cert_file.string(),
                                                    ca.error().message));
  return ca;
}

Status CertificateAuthority::save(const std::filesystem::path& key_file, const std::filesystem::path& cert_file,
                                  bool overwrite) const {
  ossl::ErrorMark mark;
  if (!overwrite) {
    std::array paths{key_file, cert_file};
    if (auto s = internal::ensure_absent(paths); !s) return s;
  }
  auto key = ossl::private_key_pem(m_->key.get());
  if (!key) return std::unexpected(key.error());
  if (auto s = internal::write_file(key_file, *key, 0600, overwrite); !s) return s;
  return internal::write_file(cert_file, m_->cert_pem, 0644, overwrite);
}

const std::string& CertificateAuthority::certificate_pem() const { return m_->cert_pem; }

std::string CertificateAuthority::certificate_der() const {
  unsigned char* der = nullptr;
  int len = i2d_X509(m_->cert.get(), &der);
  std::string out = len > 0 ? std::string(reinterpret_cast<const char*>(der), static_cast<size_t>(len)) : "";
  OPENSSL_free(der);
  return out;
}

std::string CertificateAuthority::serial_hex() const {
  return ossl::serial_to_hex(X509_get0_serialNumber(m_->cert.get()));
}

int64_t CertificateAuthority::not_after_s() const { return m_->not_after_s; }

}  // namespace custody::pki
