// The CA's certificate revocation list (RFC 5280 section 5): X.509 v2,
// with the two extensions a conforming CRL must carry, the authority key
// identifier and the CRL number.
#include <set>
#include <string>

#include <openssl/pem.h>

#include <fmt/format.h>

#include "pki/ca.h"
#include "pki/ca_internal.h"

namespace custody::pki {
namespace {

Status set_time(X509_CRL* crl, int (*setter)(X509_CRL*, const ASN1_TIME*), int64_t unix_s) {
  ossl::TimePtr t(ASN1_TIME_set(nullptr, static_cast<time_t>(unix_s)));
  if (!t || setter(crl, t.get()) != 1) return fail(ErrorCode::kInternal, "cannot set a CRL time: " + ossl::last_error());
  return {};
}

Status add_revoked(X509_CRL* crl, const RevokedCertificate& entry) {
  auto serial = ossl::serial_from_hex(entry.serial_hex);
  if (!serial) return fail(ErrorCode::kInvalidArgument, fmt::format("revoked serial {:?}: {}", entry.serial_hex,
                                                                    serial.error().message));
  ossl::RevokedPtr revoked(X509_REVOKED_new());
  ossl::TimePtr when(ASN1_TIME_set(nullptr, static_cast<time_t>(entry.revoked_at_s)));
  if (!revoked || !when || X509_REVOKED_set_serialNumber(revoked.get(), serial->get()) != 1 ||
      X509_REVOKED_set_revocationDate(revoked.get(), when.get()) != 1 ||
      X509_CRL_add0_revoked(crl, revoked.get()) != 1)
    return fail(ErrorCode::kInternal, "cannot add a revoked certificate: " + ossl::last_error());
  revoked.release();  // the CRL owns it now
  return {};
}

Status add_crl_extensions(X509_CRL* crl, X509* issuer, uint64_t number) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, nullptr, nullptr, crl, 0);
  ossl::ExtensionPtr aki(X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
  if (!aki || X509_CRL_add_ext(crl, aki.get(), -1) != 1)
    return fail(ErrorCode::kInternal, "CRL authority key identifier: " + ossl::last_error());
  ossl::IntegerPtr n(ASN1_INTEGER_new());
  if (!n || ASN1_INTEGER_set_uint64(n.get(), number) != 1 ||
      X509_CRL_add1_ext_i2d(crl, NID_crl_number, n.get(), 0, X509V3_ADD_DEFAULT) != 1)
    return fail(ErrorCode::kInternal, "CRL number: " + ossl::last_error());
  return {};
}

Result<Crl> encode(X509_CRL* crl) {
  Crl out;
  unsigned char* der = nullptr;
  int len = i2d_X509_CRL(crl, &der);
  if (len <= 0) return fail(ErrorCode::kInternal, "i2d_X509_CRL: " + ossl::last_error());
  out.der.assign(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_CRL(bio.get(), crl) != 1)
    return fail(ErrorCode::kInternal, "PEM_write_bio_X509_CRL: " + ossl::last_error());
  out.pem = ossl::bio_contents(bio.get());
  return out;
}

}  // namespace

Result<Crl> CertificateAuthority::make_crl(const CrlRequest& request) const {
  ossl::ErrorMark mark;
  if (request.validity_seconds == 0) return fail(ErrorCode::kInvalidArgument, "a CRL must be valid for some time");
  int64_t now = internal::resolve_now(request.now_s);
  ossl::CrlPtr crl(X509_CRL_new());
  if (!crl || X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(m_->cert.get())) != 1)
    return fail(ErrorCode::kInternal, "cannot build a CRL: " + ossl::last_error());
  if (auto s = set_time(crl.get(), X509_CRL_set1_lastUpdate, now); !s) return std::unexpected(s.error());
  if (auto s = set_time(crl.get(), X509_CRL_set1_nextUpdate, now + request.validity_seconds); !s)
    return std::unexpected(s.error());
  std::set<std::string> seen;  // one entry per serial, however often it was revoked
  for (const RevokedCertificate& entry : request.revoked) {
    if (!seen.insert(entry.serial_hex).second) continue;
    if (auto s = add_revoked(crl.get(), entry); !s) return std::unexpected(s.error());
  }
  X509_CRL_sort(crl.get());
  uint64_t number = request.number != 0 ? request.number : static_cast<uint64_t>(now);
  if (auto s = add_crl_extensions(crl.get(), m_->cert.get(), number); !s) return std::unexpected(s.error());
  if (X509_CRL_sign(crl.get(), m_->key.get(), internal::signing_digest(m_->key.get())) <= 0)
    return fail(ErrorCode::kInternal, "signing the CRL failed: " + ossl::last_error());
  return encode(crl.get());
}

}  // namespace custody::pki
