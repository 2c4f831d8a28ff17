// OpenSSL handles and conversions shared by the pki/ sources. Private to
// pki/: other subsystems see only std::string PEM/DER and value types.
#pragma once

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/error.h"

namespace custody::pki::ossl {

// Deleter for any OpenSSL object freed by a single function.
template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};

using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using CrlPtr = std::unique_ptr<X509_CRL, Deleter<X509_CRL_free>>;
using RevokedPtr = std::unique_ptr<X509_REVOKED, Deleter<X509_REVOKED_free>>;
using NamePtr = std::unique_ptr<X509_NAME, Deleter<X509_NAME_free>>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using IntegerPtr = std::unique_ptr<ASN1_INTEGER, Deleter<ASN1_INTEGER_free>>;
using OctetStringPtr = std::unique_ptr<ASN1_OCTET_STRING, Deleter<ASN1_OCTET_STRING_free>>;
using TimePtr = std::unique_ptr<ASN1_TIME, Deleter<ASN1_TIME_free>>;
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, Deleter<GENERAL_NAME_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES_free>>;
using StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>>;

// Errors that OpenSSL queues while this is alive are dropped when it goes:
// the queue is per thread, and a stale entry left behind would be
// misread by the next SSL_get_error() on the same thread (a TLS read).
class ErrorMark {
 public:
  ErrorMark() { ERR_set_mark(); }
  ~ErrorMark() { ERR_pop_to_mark(); }
  ErrorMark(const ErrorMark&) = delete;
  ErrorMark& operator=(const ErrorMark&) = delete;
};

// The most recent queued OpenSSL error as text ("unknown" if none).
std::string last_error();

// A certificate serial as lower-case hex without leading zero bytes:
// the form http::TlsOptions::is_revoked receives ("-" prefix if negative).
std::string serial_to_hex(const ASN1_INTEGER* serial);
// The inverse, for serials we were given: 1 to 40 hex digits (RFC 5280
// allows 20 octets), non-negative.
Result<IntegerPtr> serial_from_hex(std::string_view hex);
// A positive random 128-bit serial (top bit set, so always 32 hex digits).
Result<IntegerPtr> random_serial();

// Seconds since the Unix epoch; kInvalidArgument for a malformed time.
Result<int64_t> time_to_unix(const ASN1_TIME* t);

// Everything written to a memory BIO so far.
std::string bio_contents(BIO* bio);

// PEM and DER of certificates and keys.
Result<std::string> certificate_pem(X509* cert);
Result<std::string> private_key_pem(EVP_PKEY* key);
Result<X509Ptr> parse_certificate_pem(std::string_view pem);
Result<PkeyPtr> parse_private_key_pem(std::string_view pem);

}  // namespace custody::pki::ossl
