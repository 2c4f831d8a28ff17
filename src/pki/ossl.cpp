#include "pki/ossl.h"

#include <openssl/pem.h>
#include <openssl/rand.h>

#include <chrono>
#include <climits>
#include <ctime>

namespace custody::pki::ossl {
namespace {

bool is_hex_digit(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

BioPtr memory_bio(std::string_view data) {
  if (data.size() > INT_MAX) return nullptr;
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

}  // namespace

std::string last_error() {
  unsigned long e = ERR_peek_last_error();
  if (e == 0) return "unknown";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

std::string serial_to_hex(const ASN1_INTEGER* serial) {
  BignumPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!bn) return "";
  char* hex = BN_bn2hex(bn.get());
  if (!hex) return "";
  std::string out = hex;
  OPENSSL_free(hex);
  for (char& c : out)
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

Result<IntegerPtr> serial_from_hex(std::string_view hex) {
  if (hex.empty() || hex.size() > 40)
    return fail(ErrorCode::kInvalidArgument, "a serial is 1 to 40 hex digits");
  for (char c : hex)
    if (!is_hex_digit(c)) return fail(ErrorCode::kInvalidArgument, "a serial is 1 to 40 hex digits");
  std::string text(hex);
  BIGNUM* raw = nullptr;
  if (BN_hex2bn(&raw, text.c_str()) != static_cast<int>(text.size()))
    return fail(ErrorCode::kInvalidArgument, "cannot read serial " + text);
  BignumPtr bn(raw);
  IntegerPtr out(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!out) return fail(ErrorCode::kInternal, "BN_to_ASN1_INTEGER: " + last_error());
  return out;
}

Result<IntegerPtr> random_serial() {
  BignumPtr bn(BN_new());
  if (!bn || BN_rand(bn.get(), 128, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) != 1)
    return fail(ErrorCode::kInternal, "the random number generator failed");
  IntegerPtr out(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!out) return fail(ErrorCode::kInternal, "BN_to_ASN1_INTEGER: " + last_error());
  return out;
}

Result<int64_t> time_to_unix(const ASN1_TIME* t) {
  std::tm tm{};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return fail(ErrorCode::kInvalidArgument, "malformed certificate time");
  // std::chrono instead of timegm(): no dependence on the process time zone.
  using namespace std::chrono;
  year_month_day date{year{tm.tm_year + 1900}, month{static_cast<unsigned>(tm.tm_mon + 1)},
                      day{static_cast<unsigned>(tm.tm_mday)}};
  if (!date.ok()) return fail(ErrorCode::kInvalidArgument, "malformed certificate date");
  int64_t days = sys_days{date}.time_since_epoch().count();
  return days * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
}

std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return len > 0 ? std::string(data, static_cast<size_t>(len)) : std::string();
}

Result<std::string> certificate_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1)
    return fail(ErrorCode::kInternal, "PEM_write_bio_X509: " + last_error());
  return bio_contents(bio.get());
}

Result<std::string> private_key_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  // PKCS#8, unencrypted: what Go's tls.LoadX509KeyPair (docker, podman,
  // skopeo), curl and OpenSSL all read. Protection is the file mode.
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return fail(ErrorCode::kInternal, "PEM_write_bio_PrivateKey: " + last_error());
  return bio_contents(bio.get());
}

Result<X509Ptr> parse_certificate_pem(std::string_view pem) {
  BioPtr bio = memory_bio(pem);
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) return fail(ErrorCode::kInvalidArgument, "not a PEM certificate: " + last_error());
  return cert;
}

Result<PkeyPtr> parse_private_key_pem(std::string_view pem) {
  BioPtr bio = memory_bio(pem);
  // An empty passphrase callback: an encrypted key fails instead of
  // prompting on the terminal of a server.
  auto no_passphrase = [](char*, int, int, void*) { return 0; };
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr) : nullptr);
  if (!key) return fail(ErrorCode::kInvalidArgument, "not an unencrypted PEM private key: " + last_error());
  return key;
}

}  // namespace custody::pki::ossl
