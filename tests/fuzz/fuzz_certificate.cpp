// Fuzzes the peer-certificate parser and the subject-to-identity mapping:
// the bytes a TLS client presents reach them (after the handshake, but an
// external CA may sign anything). They must never crash, and whatever they
// accept must be sane: a name that maps is always a plausible identity.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "pki/subject.h"

using namespace custody::pki;

namespace {

bool is_lower_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

void check_mapping(const PeerCertificate& cert) {
  for (auto m : {SubjectMapping::kCommonName, SubjectMapping::kSanEmail, SubjectMapping::kSanUri}) {
    for (std::string_view domain : {std::string_view(), std::string_view("example.com")}) {
      auto id = map_subject_to_identity(cert, m, domain);
      if (id && !is_plausible_identity_name(*id)) __builtin_trap();
      if (!id && id.error().message.empty()) __builtin_trap();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto cert = parse_peer_certificate(in);
  if (!cert) {
    if (cert.error().message.empty()) __builtin_trap();
    return 0;
  }
  if (cert->serial_hex.empty()) __builtin_trap();
  std::string_view serial = cert->serial_hex;
  if (!is_lower_hex(serial.starts_with('-') ? serial.substr(1) : serial)) __builtin_trap();
  if (cert->sha256_fingerprint.size() != 64 || !is_lower_hex(cert->sha256_fingerprint)) __builtin_trap();
  for (const auto* list : {&cert->san_emails, &cert->san_uris, &cert->san_dns})
    for (const std::string& name : *list)
      for (char c : name)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) __builtin_trap();
  check_mapping(*cert);
  return 0;
}
