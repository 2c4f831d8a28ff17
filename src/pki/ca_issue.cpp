// Issuing server and client (leaf) certificates.
#include <algorithm>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "pki/ca.h"
#include "pki/ca_internal.h"
#include "pki/subject.h"

namespace custody::pki {
namespace {

// Leaves are short-lived by design; ten years is already generous.
constexpr uint32_t kMaxLeafDays = 3650;
constexpr size_t kMaxHosts = 100;
constexpr size_t kMaxCommonName = 64;  // RFC 5280 ub-common-name
constexpr std::string_view kFallbackServerName = "custody";

using AltName = std::pair<int, std::string>;  // GEN_DNS / GEN_IPADD / GEN_URI / GEN_EMAIL

// What one kind of leaf certificate differs in.
struct LeafSpec {
  std::string common_name;
  std::vector<AltName> alt_names;
  const char* extended_key_usage;  // OpenSSL config syntax, a constant
  uint32_t validity_days;
  int64_t now_s;
};

bool is_ascii_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

bool is_dns_label(std::string_view label) {
  if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
  return std::all_of(label.begin(), label.end(), [](char c) { return is_ascii_alnum(c) || c == '-'; });
}

// RFC 1123 host names, with an optional wildcard as the whole leftmost label.
bool is_dns_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  if (name.starts_with("*.")) name.remove_prefix(2);
  for (size_t start = 0;;) {
    size_t dot = name.find('.', start);
    if (!is_dns_label(name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start)))
      return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// Deliberately plain: printable ASCII, one '@' with something either side.
bool is_email(std::string_view email) {
  size_t at = email.find('@');
  if (email.size() > 254 || at == 0 || at == std::string_view::npos || at + 1 == email.size() ||
      email.find('@', at + 1) != std::string_view::npos)
    return false;
  return std::all_of(email.begin(), email.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

Status push_alt_name(GENERAL_NAMES* names, const AltName& entry) {
  const auto& [type, value] = entry;
  ossl::GeneralNamePtr gn(GENERAL_NAME_new());
  if (!gn) return fail(ErrorCode::kInternal, "GENERAL_NAME_new failed");
  if (type == GEN_IPADD) {
    ASN1_OCTET_STRING* ip = a2i_IPADDRESS(value.c_str());
    if (!ip) return fail(ErrorCode::kInvalidArgument, fmt::format("{:?} is not an IP address", value));
    GENERAL_NAME_set0_value(gn.get(), GEN_IPADD, ip);
  } else {
    ASN1_IA5STRING* text = ASN1_IA5STRING_new();
    if (!text || ASN1_STRING_set(text, value.data(), static_cast<int>(value.size())) != 1) {
      ASN1_IA5STRING_free(text);
      return fail(ErrorCode::kInternal, "ASN1_STRING_set failed");
    }
    GENERAL_NAME_set0_value(gn.get(), type, text);
  }
  if (sk_GENERAL_NAME_push(names, gn.get()) <= 0) return fail(ErrorCode::kInternal, "sk_GENERAL_NAME_push failed");
  gn.release();  // the stack owns it now
  return {};
}

// Names are encoded as ASN.1 values directly, never through OpenSSL's
// "DNS:a,IP:b" text syntax, where a name holding a comma could add entries.
Status add_alt_names(X509* cert, const std::vector<AltName>& entries) {
  ossl::GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
  if (!names) return fail(ErrorCode::kInternal, "sk_GENERAL_NAME_new_null failed");
  for (const AltName& entry : entries)
    if (auto s = push_alt_name(names.get(), entry); !s) return s;
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1)
    return fail(ErrorCode::kInternal, "cannot add the subjectAltName: " + ossl::last_error());
  return {};
}

Status add_leaf_extensions(X509* cert, X509* issuer, const LeafSpec& spec) {
  // ECDSA keys only sign, so digitalSignature is the whole keyUsage.
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:FALSE"},
                            std::pair{NID_key_usage, "critical,digitalSignature"},
                            std::pair{NID_ext_key_usage, spec.extended_key_usage},
                            std::pair{NID_subject_key_identifier, "hash"},
                            std::pair{NID_authority_key_identifier, "keyid:always"}}) {
    if (auto s = internal::add_extension(cert, issuer, nid, value); !s) return s;
  }
  return add_alt_names(cert, spec.alt_names);
}

Result<IssuedCertificate> issue_leaf(const CertificateAuthority::Material& ca, const LeafSpec& spec) {
  if (spec.validity_days == 0 || spec.validity_days > kMaxLeafDays)
    return fail(ErrorCode::kInvalidArgument, fmt::format("certificate validity is 1 to {} days", kMaxLeafDays));
  int64_t now = internal::resolve_now(spec.now_s);
  if (now >= ca.not_after_s) return fail(ErrorCode::kFailedPrecondition, "the CA certificate has expired");
  int64_t not_after = std::min(now + int64_t{spec.validity_days} * internal::kSecondsPerDay, ca.not_after_s);
  auto key = internal::generate_key();
  if (!key) return std::unexpected(key.error());
  auto name = internal::make_name(spec.common_name, "");
  if (!name) return std::unexpected(name.error());
  auto cert = internal::new_certificate(name->get(), X509_get_subject_name(ca.cert.get()), key->get(),
                                        now - internal::kBackdateSeconds, not_after);
  if (!cert) return std::unexpected(cert.error());
  if (auto s = add_leaf_extensions(cert->get(), ca.cert.get(), spec); !s) return std::unexpected(s.error());
  if (auto s = internal::sign(cert->get(), ca.key.get()); !s) return std::unexpected(s.error());
  IssuedCertificate out;
  auto key_pem = ossl::private_key_pem(key->get());
  auto cert_pem = ossl::certificate_pem(cert->get());
  if (!key_pem) return std::unexpected(key_pem.error());
  if (!cert_pem) return std::unexpected(cert_pem.error());
  out.key_pem = std::move(*key_pem);
  out.cert_pem = std::move(*cert_pem);
  out.serial_hex = ossl::serial_to_hex(X509_get0_serialNumber(cert->get()));
  out.not_after_s = not_after;
  return out;
}

Result<std::vector<AltName>> server_alt_names(const std::vector<std::string>& hosts) {
  if (hosts.empty() || hosts.size() > kMaxHosts)
    return fail(ErrorCode::kInvalidArgument, fmt::format("a server certificate names 1 to {} hosts", kMaxHosts));
  std::vector<AltName> out;
  for (const std::string& host : hosts) {
    // a2i_IPADDRESS is the parser that will encode it, so it decides.
    ossl::OctetStringPtr ip(a2i_IPADDRESS(host.c_str()));
    if (ip) out.emplace_back(GEN_IPADD, host);
    else if (is_dns_name(host)) out.emplace_back(GEN_DNS, host);
    else return fail(ErrorCode::kInvalidArgument, fmt::format("{:?} is neither a DNS name nor an IP address", host));
  }
  return out;
}

}  // namespace

namespace internal {

Result<ossl::X509Ptr> new_certificate(const X509_NAME* subject, const X509_NAME* issuer, EVP_PKEY* key,
                                      int64_t not_before_s, int64_t not_after_s) {
  ossl::X509Ptr cert(X509_new());
  auto serial = ossl::random_serial();
  if (!serial) return std::unexpected(serial.error());
  X509* c = cert.get();
  if (!c || X509_set_version(c, X509_VERSION_3) != 1 || X509_set_serialNumber(c, serial->get()) != 1 ||
      X509_set_subject_name(c, subject) != 1 || X509_set_issuer_name(c, issuer) != 1 ||
      !ASN1_TIME_set(X509_getm_notBefore(c), static_cast<time_t>(not_before_s)) ||
      !ASN1_TIME_set(X509_getm_notAfter(c), static_cast<time_t>(not_after_s)) || X509_set_pubkey(c, key) != 1)
    return fail(ErrorCode::kInternal, "cannot build a certificate: " + ossl::last_error());
  return cert;
}

}  // namespace internal

Result<IssuedCertificate> CertificateAuthority::issue_server(const ServerCertificateRequest& request) const {
  ossl::ErrorMark mark;
  auto alt_names = server_alt_names(request.hosts);
  if (!alt_names) return std::unexpected(alt_names.error());
  // Clients match SANs, not the CN; the CN is only for people reading it.
  const std::string& first = request.hosts.front();
  std::string cn = first.size() <= kMaxCommonName ? first : std::string(kFallbackServerName);
  return issue_leaf(*m_, {std::move(cn), std::move(*alt_names), "serverAuth", request.validity_days, request.now_s});
}

Result<IssuedCertificate> CertificateAuthority::issue_client(const ClientCertificateRequest& request) const {
  ossl::ErrorMark mark;
  const std::string& id = request.identity;
  if (!is_plausible_identity_name(id))
    return fail(ErrorCode::kInvalidArgument, fmt::format("{:?} is not an account name", id));
  if (id.size() > kMaxCommonName)
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{} is longer than a certificate common name may be ({})", id, kMaxCommonName));
  std::vector<AltName> alt_names{{GEN_URI, std::string(kPrincipalUriPrefix) + id}};
  if (!request.email.empty()) {
    if (!is_email(request.email))
      return fail(ErrorCode::kInvalidArgument, fmt::format("{:?} is not an email address", request.email));
    alt_names.emplace_back(GEN_EMAIL, request.email);
  }
  return issue_leaf(*m_, {id, std::move(alt_names), "clientAuth", request.validity_days, request.now_s});
}

}  // namespace custody::pki
