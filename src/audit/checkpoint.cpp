#include "audit/checkpoint.h"

#include <algorithm>
#include <charconv>

namespace custody::audit {
namespace {

// One line of a checkpoint: non-empty note text without a newline.
bool is_valid_line(std::string_view line) {
  return !line.empty() && line.find('\n') == std::string_view::npos && is_valid_note_text(line);
}

// ASCII decimal, no sign or leading zeros ("0" only for the empty tree).
Result<uint64_t> parse_tree_size(std::string_view s) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  bool digits_only = std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (s.empty() || !digits_only || ec != std::errc() || end != s.data() + s.size())
    return fail(ErrorCode::kInvalidArgument, "checkpoint tree size \"" + std::string(s) + "\" is not a decimal number");
  if (s.size() > 1 && s[0] == '0')
    return fail(ErrorCode::kInvalidArgument, "checkpoint tree size has leading zeros");
  return v;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    lines.push_back(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
  }
  return lines;
}

bool is_signed_by(const OpenedNote& note, const NoteVerifier& key) {
  return std::any_of(note.verified.begin(), note.verified.end(), [&](const VerifiedSignature& v) {
    return v.name == key.name() && v.key_id == key.key_id();
  });
}

}  // namespace

Result<Checkpoint> Checkpoint::create(std::string origin, uint64_t size, const Hash& root,
                                      std::vector<std::string> extensions) {
  if (!is_valid_line(origin))
    return fail(ErrorCode::kInvalidArgument, "checkpoint origin must be one non-empty line of text");
  for (const std::string& e : extensions)
    if (!is_valid_line(e))
      return fail(ErrorCode::kInvalidArgument, "checkpoint extension lines must be non-empty lines of text");
  Checkpoint c;
  c.origin_ = std::move(origin);
  c.size_ = size;
  c.root_ = root;
  c.extensions_ = std::move(extensions);
  return c;
}

Result<Checkpoint> Checkpoint::parse(std::string_view text) {
  if (text.empty() || text.back() != '\n')
    return fail(ErrorCode::kInvalidArgument, "checkpoint must end with a newline");
  if (!is_valid_note_text(text))
    return fail(ErrorCode::kInvalidArgument, "checkpoint must be UTF-8 text free of control characters");
  std::vector<std::string_view> lines = split_lines(text);
  if (lines.size() < 3)
    return fail(ErrorCode::kInvalidArgument, "checkpoint needs an origin, a tree size and a root hash");
  for (std::string_view line : lines)
    if (line.empty()) return fail(ErrorCode::kInvalidArgument, "checkpoint has an empty line");
  auto size = parse_tree_size(lines[1]);
  if (!size) return std::unexpected(size.error());
  auto raw = base64_decode(lines[2]);
  if (!raw) return fail(ErrorCode::kInvalidArgument, "checkpoint root hash is not canonical base64");
  auto root = Hash::from_bytes(*raw);
  if (!root) return fail(ErrorCode::kInvalidArgument, "checkpoint root hash must be 32 bytes");
  return create(std::string(lines[0]), *size, *root,
                std::vector<std::string>(lines.begin() + 3, lines.end()));
}

std::string Checkpoint::text() const {
  std::string out = origin_ + "\n" + std::to_string(size_) + "\n" + base64_encode(root_.bytes()) + "\n";
  for (const std::string& e : extensions_) out += e + "\n";
  return out;
}

Result<std::string> sign_checkpoint(const Checkpoint& checkpoint, const NoteSigner& log_key) {
  if (log_key.verifier().type() != SignatureType::kEd25519)
    return fail(ErrorCode::kInvalidArgument, "a log signs checkpoints with an Ed25519 (type 0x01) key");
  return sign_note(checkpoint.text(), log_key);
}

Result<SignedCheckpoint> open_checkpoint(std::string_view note, std::string_view origin,
                                         const NoteVerifier& log_key, std::span<const NoteVerifier> witnesses) {
  if (log_key.type() != SignatureType::kEd25519)
    return fail(ErrorCode::kInvalidArgument, "the log key must be an Ed25519 (type 0x01) key");
  std::vector<NoteVerifier> known{log_key};
  for (const NoteVerifier& w : witnesses) {
    if (w.type() != SignatureType::kCosignatureV1)
      return fail(ErrorCode::kInvalidArgument, "witness key " + w.name() + " is not a cosignature (0x04) key");
    known.push_back(w);
  }
  auto opened = open_note(note, known);
  if (!opened && opened.error().code != ErrorCode::kFailedPrecondition) return std::unexpected(opened.error());
  if (!opened || !is_signed_by(*opened, log_key))
    return fail(ErrorCode::kFailedPrecondition, "checkpoint is not signed by the log key " + log_key.to_string());
  auto checkpoint = Checkpoint::parse(opened->text);
  if (!checkpoint) return std::unexpected(checkpoint.error());
  if (checkpoint->origin() != origin)
    return fail(ErrorCode::kFailedPrecondition,
                "checkpoint is for log \"" + checkpoint->origin() + "\", not \"" + std::string(origin) + "\"");
  SignedCheckpoint out{std::move(*checkpoint), std::move(*opened), {}};
  for (const VerifiedSignature& v : out.note.verified)
    if (v.type == SignatureType::kCosignatureV1) out.cosignatures.push_back(v);
  return out;
}

Result<std::string> cosign_checkpoint(std::string_view note, const NoteSigner& witness, uint64_t timestamp) {
  const NoteVerifier& key = witness.verifier();
  if (key.type() != SignatureType::kCosignatureV1)
    return fail(ErrorCode::kInvalidArgument, "a witness cosigns with a cosignature (type 0x04) key");
  auto parsed = Note::parse(note);
  if (!parsed) return std::unexpected(parsed.error());
  if (auto checkpoint = Checkpoint::parse(parsed->text); !checkpoint) return std::unexpected(checkpoint.error());
  auto sig = witness.sign(parsed->text, timestamp);
  if (!sig) return std::unexpected(sig.error());
  std::erase_if(parsed->signatures,
                [&](const NoteSignature& s) { return s.name == key.name() && s.key_id == key.key_id(); });
  parsed->signatures.push_back(std::move(*sig));
  return parsed->format();
}

}  // namespace custody::audit
