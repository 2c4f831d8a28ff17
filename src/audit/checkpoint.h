// C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): the signed
// statement "log <origin> has <size> entries with root hash <root>".
//
//   custody.example/log               origin: names the log, non-empty
//   4711                              tree size, decimal, no leading zeros
//   CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=   base64 root hash
//   (optional extension lines, each non-empty)
//
// The body is the text of a signed note (note.h) carrying the log's
// Ed25519 signature and, once witnessed, tlog-cosignature v1 lines.
// Anyone holding an older checkpoint can then demand a consistency proof
// (merkle.h) and so detect a rewritten history.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "audit/merkle.h"
#include "audit/note.h"
#include "common/error.h"

namespace custody::audit {

class Checkpoint {
 public:
  // kInvalidArgument if the origin is empty or an origin or extension
  // line is not a single non-empty line of note text.
  static Result<Checkpoint> create(std::string origin, uint64_t size, const Hash& root,
                                   std::vector<std::string> extensions = {});
  // Strict: exactly the text create() would produce for some input.
  static Result<Checkpoint> parse(std::string_view text);

  const std::string& origin() const { return origin_; }
  uint64_t size() const { return size_; }
  const Hash& root() const { return root_; }
  const std::vector<std::string>& extensions() const { return extensions_; }

  std::string text() const;  // the note text, ending in "\n"

  friend bool operator==(const Checkpoint&, const Checkpoint&) = default;

 private:
  Checkpoint() = default;
  std::string origin_;
  uint64_t size_ = 0;
  Hash root_;
  std::vector<std::string> extensions_;
};

// A checkpoint whose log signature (and any known cosignatures) verified.
struct SignedCheckpoint {
  Checkpoint checkpoint;
  OpenedNote note;
  // Distinct witnesses (from those passed to open_checkpoint) whose
  // cosignatures verified.
  std::vector<VerifiedSignature> cosignatures;
};

// The log's signed checkpoint in wire form. `log_key` must be an Ed25519
// (type 0x01) signer.
Result<std::string> sign_checkpoint(const Checkpoint& checkpoint, const NoteSigner& log_key);

// Verifies a signed checkpoint: it must carry a valid signature by
// `log_key` and its body must be a checkpoint for `origin`. Cosignatures by
// `witnesses` (type 0x04 keys) are verified too; a bad one rejects the
// note, a missing one does not (count them to enforce a quorum). Lines
// from other keys are ignored.
// kInvalidArgument: malformed note or body; kDataLoss: a bad signature;
// kFailedPrecondition: not signed by `log_key`, or another origin.
Result<SignedCheckpoint> open_checkpoint(std::string_view note, std::string_view origin,
                                         const NoteVerifier& log_key, std::span<const NoteVerifier> witnesses = {});

// A witness's cosignature added to a signed checkpoint (replacing an
// earlier one by the same key); other lines are kept as they are. The
// caller must first have verified the log's signature and the consistency
// of this checkpoint with the last one it cosigned: that is what the
// cosignature asserts. `witness` must be a type 0x04 signer.
Result<std::string> cosign_checkpoint(std::string_view note, const NoteSigner& witness, uint64_t timestamp);

}  // namespace custody::audit
