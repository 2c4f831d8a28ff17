// Who a client certificate names: the fields of a peer certificate that
// authentication needs, and the mapping from them to a Custody identity.
//
// The certificate has already been verified by the TLS handshake (chain,
// validity, revocation); this code only reads it. It is also fed
// arbitrary bytes by a fuzz target, so it refuses anything malformed with
// kInvalidArgument rather than guessing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace custody::pki {

struct PeerCertificate {
  std::string serial_hex;          // lower-case, as http::TlsOptions::is_revoked sees it
  std::string sha256_fingerprint;  // of the DER, 64 lower-case hex digits, no colons
  std::string common_name;         // "" if the subject has none
  std::vector<std::string> san_emails;
  std::vector<std::string> san_uris;
  std::vector<std::string> san_dns;
  int64_t not_after_s = 0;  // Unix seconds
};

// Parses one DER certificate (the exact bytes: trailing data is refused).
// Also refused: a subject with more than one CN (which one would count?),
// duplicate subjectAltName extensions, and names holding NUL or control
// characters (the classic "alice\0.evil.example" trick).
Result<PeerCertificate> parse_peer_certificate(std::string_view der);

// Which certificate field names the identity. Configured per trusted CA.
enum class SubjectMapping {
  kCommonName,  // subject CN
  kSanEmail,    // the local part of an rfc822Name SAN, lower-cased
  kSanUri,      // custody://principal/<name>, as Custody's own CA issues
};

// "cn", "email" or "uri" (the configuration spelling).
std::optional<SubjectMapping> parse_subject_mapping(std::string_view s);
std::string_view subject_mapping_name(SubjectMapping m);

inline constexpr std::string_view kPrincipalUriPrefix = "custody://principal/";

// The identity name a verified certificate speaks for.
//
// kSanEmail maps "Alice.Smith@corp.example" to "alice.smith": account names
// cannot hold '@'. Because the domain is dropped, pass `email_domain`
// whenever the CA issues for more than one domain; then only emails in
// that domain (compared case-insensitively) count. kSanUri ignores URIs
// other than custody://principal/ ones (SPIFFE IDs and the like), without
// any percent-decoding.
//
// The field must yield exactly one name: kNotFound if none, and
// kInvalidArgument if several different ones (ambiguous) or if the name is
// not a plausible identity name.
Result<std::string> map_subject_to_identity(const PeerCertificate& cert, SubjectMapping mapping,
                                            std::string_view email_domain = {});

// An account name (auth::is_valid_account_name) or a robot name,
// "robot$<name>" or "robot$<namespace>+<name>".
bool is_plausible_identity_name(std::string_view name);

}  // namespace custody::pki
