#include "registry/errors.h"

namespace custody::registry {

std::string_view oci_code_name(OciCode code) {
  switch (code) {
    case OciCode::kBlobUnknown: return "BLOB_UNKNOWN";
    case OciCode::kBlobUploadInvalid: return "BLOB_UPLOAD_INVALID";
    case OciCode::kBlobUploadUnknown: return "BLOB_UPLOAD_UNKNOWN";
    case OciCode::kDigestInvalid: return "DIGEST_INVALID";
    case OciCode::kManifestBlobUnknown: return "MANIFEST_BLOB_UNKNOWN";
    case OciCode::kManifestInvalid: return "MANIFEST_INVALID";
    case OciCode::kManifestUnknown: return "MANIFEST_UNKNOWN";
    case OciCode::kNameInvalid: return "NAME_INVALID";
    case OciCode::kNameUnknown: return "NAME_UNKNOWN";
    case OciCode::kSizeInvalid: return "SIZE_INVALID";
    case OciCode::kUnauthorized: return "UNAUTHORIZED";
    case OciCode::kDenied: return "DENIED";
    case OciCode::kUnsupported: return "UNSUPPORTED";
    case OciCode::kTooManyRequests: return "TOO_MANY_REQUESTS";
    case OciCode::kRangeInvalid: return "RANGE_INVALID";
    case OciCode::kPaginationNumberInvalid: return "PAGINATION_NUMBER_INVALID";
    case OciCode::kUnknown: return "UNKNOWN";
  }
  return "UNKNOWN";
}

int oci_code_status(OciCode code) {
  switch (code) {
    case OciCode::kBlobUnknown: return 404;
    case OciCode::kBlobUploadInvalid: return 400;
    case OciCode::kBlobUploadUnknown: return 404;
    case OciCode::kDigestInvalid: return 400;
    case OciCode::kManifestBlobUnknown: return 400;
    case OciCode::kManifestInvalid: return 400;
    case OciCode::kManifestUnknown: return 404;
    case OciCode::kNameInvalid: return 400;
    case OciCode::kNameUnknown: return 404;
    case OciCode::kSizeInvalid: return 400;
    case OciCode::kUnauthorized: return 401;
    case OciCode::kDenied: return 403;
    case OciCode::kUnsupported: return 405;
    case OciCode::kTooManyRequests: return 429;
    case OciCode::kRangeInvalid: return 416;
    case OciCode::kPaginationNumberInvalid: return 400;
    case OciCode::kUnknown: return 500;
  }
  return 500;
}

}  // namespace custody::registry
