// What the CertificateAuthority sources share. Private to pki/.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "pki/ca.h"
#include "pki/ossl.h"

namespace custody::pki {

struct CertificateAuthority::Material {
  ossl::PkeyPtr key;
  ossl::X509Ptr cert;
  std::string cert_pem;
  int64_t not_after_s = 0;
};

namespace internal {

// Issued certificates begin this long before "now" (clock skew).
inline constexpr int64_t kBackdateSeconds = 5 * 60;
inline constexpr int64_t kSecondsPerDay = 86400;

int64_t resolve_now(int64_t now_s);
Result<ossl::PkeyPtr> generate_key();  // ECDSA P-256
// SHA-256, or none for the EdDSA keys of a loaded CA (they hash internally).
const EVP_MD* signing_digest(EVP_PKEY* key);

// A name with a CN and, if not empty, an O.
Result<ossl::NamePtr> make_name(std::string_view common_name, std::string_view organization);
// A v3 certificate with a fresh random serial, the names, validity and
// public key set, and no extensions yet.
Result<ossl::X509Ptr> new_certificate(const X509_NAME* subject, const X509_NAME* issuer, EVP_PKEY* key,
                                      int64_t not_before_s, int64_t not_after_s);
// One extension in OpenSSL's config syntax ("critical,CA:TRUE"). Only
// ever given constant strings: names go through add_alt_names, never
// through this text syntax, so they cannot inject extension options.
Status add_extension(X509* cert, X509* issuer, int nid, const char* value);
Status sign(X509* cert, EVP_PKEY* key);

}  // namespace internal
}  // namespace custody::pki
