// Error: the one error type returned (inside std::expected) across subsystems.
//
// Codes follow Abseil's canonical status codes so that each layer can map
// them to its own vocabulary (OCI error codes, HTTP statuses) without knowing
// where the error came from.
#pragma once

#include "common/expected_compat.h"
#include <string>
#include <string_view>

namespace custody {

enum class ErrorCode {
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kFailedPrecondition,  // state does not allow it (e.g. upload in use)
  kOutOfRange,          // offsets / ranges
  kResourceExhausted,   // size limits
  kUnimplemented,
  kUnavailable,
  kDataLoss,            // digest mismatch, corrupt data
  kUnauthenticated,     // no valid credentials
  kPermissionDenied,    // valid credentials, not allowed
  kInternal,
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  static Error invalid(std::string m) { return {ErrorCode::kInvalidArgument, std::move(m)}; }
  static Error not_found(std::string m) { return {ErrorCode::kNotFound, std::move(m)}; }
  static Error internal(std::string m) { return {ErrorCode::kInternal, std::move(m)}; }
};

std::string_view error_code_name(ErrorCode code);

// Shorthand for returning an error from a function that yields std::expected.
inline std::unexpected<Error> fail(ErrorCode code, std::string message) {
  return std::unexpected(Error{code, std::move(message)});
}

template <typename T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

}  // namespace custody
