// C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys, and
// the Ed25519 witness cosignatures of C2SP tlog-cosignature v1.
//
// A note is text ending in a newline, a blank line, then one or more
// signature lines:
//
//   <text, ending in "\n">
//   (blank line)
//   — <key name> base64(uint32 key ID, big-endian || signature)
//
// The (key name, key ID) pair names a key; key ID = SHA-256(name || "\n"
// || type byte || public key)[:4]. Verifiers ignore lines from keys they
// do not know, and reject the note if a known key's signature is bad or if
// no known key signed it.
//
// Key text forms (those of golang.org/x/mod/sumdb/note, which the C2SP
// ecosystem shares):
//   verifier key  <name>+<8 hex key ID>+<base64(type || 32-byte public key)>
//   signer key    PRIVATE+KEY+<name>+<8 hex key ID>+<base64(type || 32-byte seed)>
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "audit/encoding.h"
#include "common/error.h"

namespace custody::audit {

enum class SignatureType : uint8_t {
  kEd25519 = 0x01,        // a log's own signature over the note text
  kCosignatureV1 = 0x04,  // a witness's timestamped Ed25519 cosignature
};

// Go accepts up to 100; the spec requires at least 16.
inline constexpr size_t kMaxNoteSignatures = 100;
// A bound on what parsers read, so hostile input costs little.
inline constexpr size_t kMaxNoteSize = 1 << 20;

// Non-empty, valid UTF-8, no Unicode space and no '+'.
bool is_valid_key_name(std::string_view name);
// Valid UTF-8 with no ASCII control character other than newline.
bool is_valid_note_text(std::string_view text);

uint32_t compute_key_id(std::string_view name, SignatureType type, std::span<const uint8_t, 32> public_key);

// One signature line, as written; says nothing about validity.
struct NoteSignature {
  std::string name;
  uint32_t key_id = 0;
  Bytes signature;  // the bytes after the key ID

  std::string line() const;  // "— <name> <base64>\n"
  friend bool operator==(const NoteSignature&, const NoteSignature&) = default;
};

// The public half of a key: checks the signatures of one (name, key ID).
class NoteVerifier {
 public:
  static Result<NoteVerifier> parse(std::string_view vkey);
  static Result<NoteVerifier> from_public_key(std::string_view name, std::span<const uint8_t> public_key,
                                              SignatureType type = SignatureType::kEd25519);

  const std::string& name() const { return name_; }
  uint32_t key_id() const { return key_id_; }
  SignatureType type() const { return type_; }
  std::span<const uint8_t, 32> public_key() const { return public_key_; }
  std::string to_string() const;  // the verifier key text

  // Checks `signature` (the bytes after the key ID) over note `text`.
  // Returns the cosignature's timestamp, or 0 for a plain signature.
  // kDataLoss if it does not verify.
  Result<uint64_t> verify(std::string_view text, std::span<const uint8_t> signature) const;

 private:
  NoteVerifier() = default;
  std::string name_;
  uint32_t key_id_ = 0;
  SignatureType type_ = SignatureType::kEd25519;
  std::array<uint8_t, 32> public_key_{};
};

// The private half: an Ed25519 seed, wiped from memory on destruction.
class NoteSigner {
 public:
  static Result<NoteSigner> generate(std::string_view name, SignatureType type = SignatureType::kEd25519);
  static Result<NoteSigner> parse(std::string_view skey);
  NoteSigner(const NoteSigner&) = default;
  NoteSigner& operator=(const NoteSigner&) = default;
  ~NoteSigner();

  const NoteVerifier& verifier() const { return verifier_; }
  std::string to_string() const;  // the signer key text: a secret

  // Signs note text (non-empty, ending in "\n", valid note text). A
  // cosigner vouches "as of `timestamp`" (POSIX seconds, below 2^63);
  // plain signers ignore it.
  Result<NoteSignature> sign(std::string_view text, uint64_t timestamp = 0) const;

 private:
  NoteSigner(NoteVerifier verifier, const std::array<uint8_t, 32>& seed)
      : verifier_(std::move(verifier)), seed_(seed) {}
  static Result<NoteSigner> from_seed(std::string_view name, const std::array<uint8_t, 32>& seed,
                                      SignatureType type);

  NoteVerifier verifier_;
  std::array<uint8_t, 32> seed_{};
};

// A note taken apart, nothing verified.
struct Note {
  std::string text;  // ends in "\n"
  std::vector<NoteSignature> signatures;

  // kInvalidArgument if `msg` breaks the format (or kMaxNoteSignatures,
  // kMaxNoteSize).
  static Result<Note> parse(std::string_view msg);
  // The wire form; kInvalidArgument if text or signatures are malformed.
  Result<std::string> format() const;
};

struct VerifiedSignature {
  std::string name;
  uint32_t key_id = 0;
  SignatureType type = SignatureType::kEd25519;
  uint64_t timestamp = 0;  // cosignatures only
};

struct OpenedNote {
  std::string text;
  std::vector<VerifiedSignature> verified;  // note order, one per key
  std::vector<NoteSignature> unknown;       // lines from keys not known
};

// Parses `msg` and verifies every line from a `known` key. Errors:
// kInvalidArgument for a malformed note or two known keys with the same
// name and ID; kDataLoss if a known key's signature fails;
// kFailedPrecondition if no known key signed the note.
Result<OpenedNote> open_note(std::string_view msg, std::span<const NoteVerifier> known);

// `text` signed by `signer`, in wire form.
Result<std::string> sign_note(std::string_view text, const NoteSigner& signer);

}  // namespace custody::audit
