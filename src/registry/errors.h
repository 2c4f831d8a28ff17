// The OCI Distribution error codes, each with the HTTP status it implies
// (as CNCF Distribution's errcode package pairs them).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace custody::registry {

enum class OciCode {
  kBlobUnknown,
  kBlobUploadInvalid,
  kBlobUploadUnknown,
  kDigestInvalid,
  kManifestBlobUnknown,
  kManifestInvalid,
  kManifestUnknown,
  kNameInvalid,
  kNameUnknown,
  kSizeInvalid,
  kUnauthorized,
  kDenied,
  kUnsupported,
  kTooManyRequests,
  kRangeInvalid,              // 416 on blob reads and out-of-order chunks
  kPaginationNumberInvalid,   // Distribution's code for a bad `n`
  kUnknown,                   // server-side failure (500)
};

std::string_view oci_code_name(OciCode code);
int oci_code_status(OciCode code);

struct RegistryError {
  OciCode code = OciCode::kUnknown;
  std::string message;
  std::string detail;                 // e.g. the digest that is missing
  int status = 0;                     // 0: the code's usual status
  std::optional<uint64_t> upload_size;  // for 416 on uploads: where the session stands

  int http_status() const { return status ? status : oci_code_status(code); }
};

}  // namespace custody::registry
