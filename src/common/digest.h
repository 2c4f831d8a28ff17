// Digest: a content address ("sha256:<64 hex>") and the streaming hasher
// that produces one.
//
// Parsing follows the OCI image spec grammar; only sha256 content is
// accepted (sha512 parses as grammar-valid but is reported unsupported).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/error.h"

namespace custody {

class Digest {
 public:
  Digest() = default;

  // Parses "algorithm:encoded". Errors: kInvalidArgument for grammar
  // violations, kUnimplemented for a well-formed but unsupported algorithm.
  static Result<Digest> parse(std::string_view text);
  static Digest of(std::span<const std::byte> data);
  static Digest of(std::string_view data);
  static Digest from_raw_sha256(const std::array<uint8_t, 32>& raw);

  const std::string& str() const { return text_; }
  std::string_view hex() const { return std::string_view(text_).substr(7); }
  std::string_view algorithm() const { return "sha256"; }
  bool empty() const { return text_.empty(); }

  friend bool operator==(const Digest&, const Digest&) = default;
  friend auto operator<=>(const Digest&, const Digest&) = default;

 private:
  explicit Digest(std::string text) : text_(std::move(text)) {}
  std::string text_;
};

// Incremental SHA-256 whose state can be saved and restored, so that an
// upload session resumes after a restart without re-reading its bytes.
class Sha256 {
 public:
  static constexpr size_t kStateSize = 112;  // opaque snapshot size
  Sha256();
  void update(std::span<const std::byte> data);
  void update(std::string_view data);
  Digest finish() const;  // does not disturb the running state
  std::string save_state() const;
  static Result<Sha256> restore_state(std::string_view state);

 private:
  alignas(8) std::array<std::byte, kStateSize> ctx_{};
};

}  // namespace custody
