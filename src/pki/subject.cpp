#include "pki/subject.h"

#include <algorithm>

#include <fmt/format.h>

#include "auth/identity.h"
#include "pki/ossl.h"

namespace custody::pki {
namespace {

// Far above any real client certificate; bounds the work on garbage.
constexpr size_t kMaxCertificateBytes = 64 * 1024;

// `ascii_only`: SAN names are IA5String, so a byte above 0x7f is a forgery
// or a broken encoder, not an international name.
Result<std::string> clean_text(std::string_view raw, std::string_view what, bool ascii_only) {
  for (unsigned char c : raw) {
    if (c < 0x20 || c == 0x7f) return fail(ErrorCode::kInvalidArgument, fmt::format("{} holds a control character", what));
    if (ascii_only && c > 0x7f) return fail(ErrorCode::kInvalidArgument, fmt::format("{} is not ASCII", what));
  }
  return std::string(raw);
}

std::string to_hex(const unsigned char* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[p[i] >> 4]);
    out.push_back(kDigits[p[i] & 0xf]);
  }
  return out;
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

Result<std::string> common_name(const X509_NAME* subject) {
  int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (idx < 0) return std::string();
  if (X509_NAME_get_index_by_NID(subject, NID_commonName, idx) >= 0)
    return fail(ErrorCode::kInvalidArgument, "the certificate subject has more than one common name");
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) return fail(ErrorCode::kInvalidArgument, "the certificate common name is not valid text");
  std::string text(reinterpret_cast<const char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return clean_text(text, "the certificate common name", false);
}

// Where one SAN entry goes; nullopt for kinds that are not identities
// (IP addresses, directory names, ...).
struct AltNameSlot {
  const ASN1_IA5STRING* value;
  std::vector<std::string>* list;
  std::string_view what;
};

std::optional<AltNameSlot> slot_for(const GENERAL_NAME* gn, PeerCertificate& out) {
  switch (gn->type) {
    case GEN_EMAIL: return AltNameSlot{gn->d.rfc822Name, &out.san_emails, "a SAN email"};
    case GEN_URI: return AltNameSlot{gn->d.uniformResourceIdentifier, &out.san_uris, "a SAN URI"};
    case GEN_DNS: return AltNameSlot{gn->d.dNSName, &out.san_dns, "a SAN DNS name"};
    default: return std::nullopt;
  }
}

Status read_alt_names(const X509* cert, PeerCertificate& out) {
  int critical = 0;
  ossl::GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, &critical, nullptr)));
  if (!names) {
    if (critical == -1) return {};  // no SAN extension at all
    if (critical == -2) return fail(ErrorCode::kInvalidArgument, "the certificate has two subjectAltName extensions");
    return fail(ErrorCode::kInvalidArgument, "the certificate subjectAltName is malformed");
  }
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    auto slot = slot_for(sk_GENERAL_NAME_value(names.get(), i), out);
    if (!slot) continue;
    std::string_view raw(reinterpret_cast<const char*>(ASN1_STRING_get0_data(slot->value)),
                         static_cast<size_t>(ASN1_STRING_length(slot->value)));
    auto text = clean_text(raw, slot->what, true);
    if (!text) return std::unexpected(text.error());
    slot->list->push_back(std::move(*text));
  }
  return {};
}

// Exactly one distinct name, and a plausible one.
Result<std::string> single_name(std::vector<std::string> names, std::string_view field) {
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  if (names.empty()) return fail(ErrorCode::kNotFound, fmt::format("the certificate has no {}", field));
  if (names.size() > 1)
    return fail(ErrorCode::kInvalidArgument, fmt::format("the certificate's {}s name {} different identities", field,
                                                         names.size()));
  if (!is_plausible_identity_name(names.front()))
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("the certificate's {} {:?} is not an account name", field, names.front()));
  return std::move(names.front());
}

std::vector<std::string> email_names(const PeerCertificate& cert, std::string_view domain) {
  std::vector<std::string> out;
  for (const std::string& email : cert.san_emails) {
    // The last '@': a quoted local part may itself hold one.
    size_t at = email.rfind('@');
    if (at == std::string::npos || at == 0) continue;
    if (!domain.empty() && ascii_lower(email.substr(at + 1)) != ascii_lower(domain)) continue;
    out.push_back(ascii_lower(email.substr(0, at)));
  }
  return out;
}

std::vector<std::string> uri_names(const PeerCertificate& cert) {
  std::vector<std::string> out;
  for (const std::string& uri : cert.san_uris)
    if (uri.starts_with(kPrincipalUriPrefix)) out.push_back(uri.substr(kPrincipalUriPrefix.size()));
  return out;
}

}  // namespace

Result<PeerCertificate> parse_peer_certificate(std::string_view der) {
  ossl::ErrorMark mark;
  if (der.empty()) return fail(ErrorCode::kInvalidArgument, "no certificate");
  if (der.size() > kMaxCertificateBytes) return fail(ErrorCode::kInvalidArgument, "the certificate is too large");
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  const auto* end = p + der.size();
  ossl::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert) return fail(ErrorCode::kInvalidArgument, "not a DER X.509 certificate: " + ossl::last_error());
  if (p != end) return fail(ErrorCode::kInvalidArgument, "trailing bytes after the certificate");
  if (X509_get_extension_flags(cert.get()) & EXFLAG_INVALID)
    return fail(ErrorCode::kInvalidArgument, "the certificate has malformed or duplicate extensions");

  PeerCertificate out;
  out.serial_hex = ossl::serial_to_hex(X509_get0_serialNumber(cert.get()));
  if (out.serial_hex.empty()) return fail(ErrorCode::kInvalidArgument, "the certificate serial is malformed");
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (X509_digest(cert.get(), EVP_sha256(), md, &md_len) != 1)
    return fail(ErrorCode::kInternal, "X509_digest: " + ossl::last_error());
  out.sha256_fingerprint = to_hex(md, md_len);
  auto cn = common_name(X509_get_subject_name(cert.get()));
  if (!cn) return std::unexpected(cn.error());
  out.common_name = std::move(*cn);
  if (auto s = read_alt_names(cert.get(), out); !s) return std::unexpected(s.error());
  auto not_after = ossl::time_to_unix(X509_get0_notAfter(cert.get()));
  if (!not_after) return std::unexpected(not_after.error());
  out.not_after_s = *not_after;
  return out;
}

std::optional<SubjectMapping> parse_subject_mapping(std::string_view s) {
  if (s == "cn") return SubjectMapping::kCommonName;
  if (s == "email") return SubjectMapping::kSanEmail;
  if (s == "uri") return SubjectMapping::kSanUri;
  return std::nullopt;
}

std::string_view subject_mapping_name(SubjectMapping m) {
  switch (m) {
    case SubjectMapping::kCommonName: return "cn";
    case SubjectMapping::kSanEmail: return "email";
    case SubjectMapping::kSanUri: return "uri";
  }
  return "cn";
}

Result<std::string> map_subject_to_identity(const PeerCertificate& cert, SubjectMapping mapping,
                                            std::string_view email_domain) {
  switch (mapping) {
    case SubjectMapping::kCommonName: {
      std::vector<std::string> names;
      if (!cert.common_name.empty()) names.push_back(cert.common_name);
      return single_name(std::move(names), "common name");
    }
    case SubjectMapping::kSanEmail:
      return single_name(email_names(cert, email_domain),
                         email_domain.empty() ? std::string("SAN email") : fmt::format("SAN email in {}", email_domain));
    case SubjectMapping::kSanUri:
      return single_name(uri_names(cert), fmt::format("SAN URI {}<name>", kPrincipalUriPrefix));
  }
  return fail(ErrorCode::kInvalidArgument, "unknown subject mapping");
}

bool is_plausible_identity_name(std::string_view name) {
  constexpr std::string_view kRobot = "robot$";
  if (!name.starts_with(kRobot)) return auth::is_valid_account_name(name);
  std::string_view rest = name.substr(kRobot.size());
  size_t plus = rest.find('+');
  if (plus == std::string_view::npos) return auth::is_valid_account_name(rest);
  return auth::is_valid_account_name(rest.substr(0, plus)) && auth::is_valid_account_name(rest.substr(plus + 1));
}

}  // namespace custody::pki
