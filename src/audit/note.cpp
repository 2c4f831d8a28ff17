#include "audit/note.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <utility>

#include "audit/ed25519.h"

namespace custody::audit {
namespace {

constexpr std::string_view kSignaturePrefix = "\xE2\x80\x94 ";  // em dash U+2014, space
constexpr std::string_view kSignerPrefix = "PRIVATE+KEY+";
constexpr uint64_t kMaxTimestamp = (uint64_t{1} << 63) - 1;

// Decodes the UTF-8 sequence at s[i] and advances i past it; -1 if the
// bytes are not valid UTF-8 (overlong forms and surrogates included).
int32_t next_code_point(std::string_view s, size_t& i) {
  auto c = static_cast<uint8_t>(s[i]);
  if (c < 0x80) return ++i, c;
  size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
  if (len == 0 || i + len > s.size()) return -1;
  int32_t cp = c & (0x7F >> len);
  for (size_t k = 1; k < len; ++k) {
    auto cc = static_cast<uint8_t>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return -1;
    cp = cp << 6 | (cc & 0x3F);
  }
  static constexpr int32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  i += len;
  return cp;
}

// Unicode White_Space, as Go's unicode.IsSpace (which key names follow).
bool is_unicode_space(int32_t cp) {
  switch (cp) {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

std::string key_label(std::string_view name, uint32_t key_id) {
  return std::string(name) + "+" + hex_encode(std::array<uint8_t, 4>{
      static_cast<uint8_t>(key_id >> 24), static_cast<uint8_t>(key_id >> 16),
      static_cast<uint8_t>(key_id >> 8), static_cast<uint8_t>(key_id)});
}

uint64_t read_be(std::span<const uint8_t> bytes) {
  uint64_t v = 0;
  for (uint8_t b : bytes) v = v << 8 | b;
  return v;
}

void append_be(Bytes& out, uint64_t v, int bytes) {
  for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

// What a tlog-cosignature v1 cosigner signs.
std::string cosignature_message(std::string_view text, uint64_t timestamp) {
  return "cosignature/v1\ntime " + std::to_string(timestamp) + "\n" + std::string(text);
}

bool is_known_type(uint8_t type) {
  return type == static_cast<uint8_t>(SignatureType::kEd25519) ||
         type == static_cast<uint8_t>(SignatureType::kCosignatureV1);
}

// Splits "<name>+<8 hex key ID>+<base64 key>" and decodes the two last
// fields. The base64 may itself contain '+', so only two splits.
struct KeyText {
  std::string_view name;
  uint32_t key_id = 0;
  Bytes key;  // type byte || key material
};
Result<KeyText> split_key_text(std::string_view text) {
  size_t p1 = text.find('+');
  size_t p2 = p1 == std::string_view::npos ? p1 : text.find('+', p1 + 1);
  if (p2 == std::string_view::npos) return fail(ErrorCode::kInvalidArgument, "key must be <name>+<id>+<key>");
  KeyText out{text.substr(0, p1), 0, {}};
  std::string_view id_hex = text.substr(p1 + 1, p2 - p1 - 1);
  auto id = hex_decode(id_hex);
  if (id_hex.size() != 8 || !id) return fail(ErrorCode::kInvalidArgument, "key ID must be 8 hex digits");
  out.key_id = static_cast<uint32_t>(read_be(*id));
  auto key = base64_decode(text.substr(p2 + 1));
  if (!key || key->size() != 33) return fail(ErrorCode::kInvalidArgument, "key must be base64 of 33 bytes");
  if (!is_valid_key_name(out.name)) return fail(ErrorCode::kInvalidArgument, "invalid key name");
  if (!is_known_type((*key)[0]))
    return fail(ErrorCode::kUnimplemented, "unsupported signature type " + hex_encode(std::span(key->data(), 1)));
  out.key = std::move(*key);
  return out;
}

Result<NoteSignature> parse_signature_line(std::string_view line) {
  if (!line.starts_with(kSignaturePrefix))
    return fail(ErrorCode::kInvalidArgument, "signature line must start with an em dash and a space");
  line.remove_prefix(kSignaturePrefix.size());
  size_t space = line.find(' ');
  if (space == std::string_view::npos) return fail(ErrorCode::kInvalidArgument, "signature line has no signature");
  std::string_view name = line.substr(0, space);
  if (!is_valid_key_name(name)) return fail(ErrorCode::kInvalidArgument, "signature line has an invalid key name");
  auto raw = base64_decode(line.substr(space + 1));
  if (!raw || raw->size() < 5) return fail(ErrorCode::kInvalidArgument, "signature line has an invalid signature");
  NoteSignature sig{std::string(name), static_cast<uint32_t>(read_be(std::span(*raw).first(4))), {}};
  sig.signature.assign(raw->begin() + 4, raw->end());
  return sig;
}

bool is_signable_text(std::string_view text) {
  return !text.empty() && text.back() == '\n' && is_valid_note_text(text);
}

}  // namespace

bool is_valid_key_name(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size();) {
    int32_t cp = next_code_point(name, i);
    if (cp < 0 || cp == '+' || is_unicode_space(cp)) return false;
  }
  return true;
}

bool is_valid_note_text(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    int32_t cp = next_code_point(text, i);
    if (cp < 0 || (cp < 0x20 && cp != '\n')) return false;
  }
  return true;
}

uint32_t compute_key_id(std::string_view name, SignatureType type, std::span<const uint8_t, 32> public_key) {
  std::string input(name);
  input += '\n';
  input += static_cast<char>(type);
  input.append(reinterpret_cast<const char*>(public_key.data()), public_key.size());
  std::array<uint8_t, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const uint8_t*>(input.data()), input.size(), digest.data());
  return static_cast<uint32_t>(read_be(std::span(digest).first(4)));
}

std::string NoteSignature::line() const {
  Bytes raw;
  append_be(raw, key_id, 4);
  raw.insert(raw.end(), signature.begin(), signature.end());
  return std::string(kSignaturePrefix) + name + " " + base64_encode(raw) + "\n";
}

// NoteVerifier.

Result<NoteVerifier> NoteVerifier::parse(std::string_view vkey) {
  auto parts = split_key_text(vkey);
  if (!parts) return std::unexpected(parts.error());
  auto v = from_public_key(parts->name, std::span(parts->key).subspan(1), SignatureType{parts->key[0]});
  if (!v) return v;
  if (v->key_id() != parts->key_id)
    return fail(ErrorCode::kInvalidArgument, "verifier key " + key_label(parts->name, parts->key_id) +
                                                 " has the wrong key ID for its key");
  return v;
}

Result<NoteVerifier> NoteVerifier::from_public_key(std::string_view name, std::span<const uint8_t> public_key,
                                                   SignatureType type) {
  if (!is_valid_key_name(name)) return fail(ErrorCode::kInvalidArgument, "invalid key name");
  if (public_key.size() != 32) return fail(ErrorCode::kInvalidArgument, "Ed25519 public keys are 32 bytes");
  if (!is_known_type(static_cast<uint8_t>(type)))
    return fail(ErrorCode::kUnimplemented, "unsupported signature type");
  NoteVerifier v;
  v.name_ = std::string(name);
  v.type_ = type;
  std::copy(public_key.begin(), public_key.end(), v.public_key_.begin());
  v.key_id_ = compute_key_id(name, type, v.public_key_);
  return v;
}

std::string NoteVerifier::to_string() const {
  Bytes key{static_cast<uint8_t>(type_)};
  key.insert(key.end(), public_key_.begin(), public_key_.end());
  return key_label(name_, key_id_) + "+" + base64_encode(key);
}

Result<uint64_t> NoteVerifier::verify(std::string_view text, std::span<const uint8_t> signature) const {
  auto bad = [&] { return fail(ErrorCode::kDataLoss, "invalid signature for key " + key_label(name_, key_id_)); };
  if (type_ == SignatureType::kEd25519) {
    if (!ed25519_verify(public_key_, bytes_of(text), signature)) return bad();
    return 0;
  }
  // tlog-cosignature: u64 timestamp || Ed25519 signature.
  if (signature.size() != 8 + 64) return bad();
  uint64_t timestamp = read_be(signature.first(8));
  if (timestamp > kMaxTimestamp) return bad();
  if (!ed25519_verify(public_key_, bytes_of(cosignature_message(text, timestamp)), signature.subspan(8)))
    return bad();
  return timestamp;
}

// NoteSigner.

NoteSigner::~NoteSigner() { OPENSSL_cleanse(seed_.data(), seed_.size()); }

Result<NoteSigner> NoteSigner::from_seed(std::string_view name, const std::array<uint8_t, 32>& seed,
                                         SignatureType type) {
  auto pub = ed25519_public_key(seed);
  if (!pub) return std::unexpected(pub.error());
  auto verifier = NoteVerifier::from_public_key(name, *pub, type);
  if (!verifier) return std::unexpected(verifier.error());
  return NoteSigner(std::move(*verifier), seed);
}

Result<NoteSigner> NoteSigner::generate(std::string_view name, SignatureType type) {
  auto seed = ed25519_generate_seed();
  if (!seed) return std::unexpected(seed.error());
  auto signer = from_seed(name, *seed, type);
  OPENSSL_cleanse(seed->data(), seed->size());
  return signer;
}

Result<NoteSigner> NoteSigner::parse(std::string_view skey) {
  if (!skey.starts_with(kSignerPrefix))
    return fail(ErrorCode::kInvalidArgument, "signer key must start with PRIVATE+KEY+");
  auto parts = split_key_text(skey.substr(kSignerPrefix.size()));
  if (!parts) return std::unexpected(parts.error());
  auto type = SignatureType{parts->key[0]};
  Ed25519Seed seed{};
  std::copy(parts->key.begin() + 1, parts->key.end(), seed.begin());
  OPENSSL_cleanse(parts->key.data(), parts->key.size());
  auto signer = from_seed(parts->name, seed, type);
  OPENSSL_cleanse(seed.data(), seed.size());
  if (signer && signer->verifier().key_id() != parts->key_id)
    return fail(ErrorCode::kInvalidArgument, "signer key " + key_label(parts->name, parts->key_id) +
                                                 " has the wrong key ID for its key");
  return signer;
}

std::string NoteSigner::to_string() const {
  Bytes key{static_cast<uint8_t>(verifier_.type())};
  key.insert(key.end(), seed_.begin(), seed_.end());
  std::string out = std::string(kSignerPrefix) + key_label(verifier_.name(), verifier_.key_id()) + "+" +
                    base64_encode(key);
  OPENSSL_cleanse(key.data(), key.size());
  return out;
}

Result<NoteSignature> NoteSigner::sign(std::string_view text, uint64_t timestamp) const {
  if (!is_signable_text(text))
    return fail(ErrorCode::kInvalidArgument, "note text must be non-empty UTF-8 ending in a newline, "
                                             "with no control characters");
  NoteSignature out{verifier_.name(), verifier_.key_id(), {}};
  bool cosign = verifier_.type() == SignatureType::kCosignatureV1;
  if (cosign && timestamp > kMaxTimestamp) return fail(ErrorCode::kInvalidArgument, "timestamp out of range");
  std::string message = cosign ? cosignature_message(text, timestamp) : std::string(text);
  auto sig = ed25519_sign(seed_, bytes_of(message));
  if (!sig) return std::unexpected(sig.error());
  if (cosign) append_be(out.signature, timestamp, 8);
  out.signature.insert(out.signature.end(), sig->begin(), sig->end());
  return out;
}

// Notes.

Result<Note> Note::parse(std::string_view msg) {
  if (msg.size() > kMaxNoteSize) return fail(ErrorCode::kInvalidArgument, "note is too large");
  if (!is_valid_note_text(msg))
    return fail(ErrorCode::kInvalidArgument, "note is not UTF-8 text free of control characters");
  // The text ends at the last blank line; it may contain blank lines itself.
  size_t split = msg.rfind("\n\n");
  if (split == std::string_view::npos)
    return fail(ErrorCode::kInvalidArgument, "note has no blank line before its signatures");
  Note note{std::string(msg.substr(0, split + 1)), {}};
  std::string_view lines = msg.substr(split + 2);
  if (lines.empty() || lines.back() != '\n')
    return fail(ErrorCode::kInvalidArgument, "note must end with a newline-terminated signature line");
  while (!lines.empty()) {
    if (note.signatures.size() == kMaxNoteSignatures)
      return fail(ErrorCode::kInvalidArgument, "note has more than 100 signatures");
    size_t nl = lines.find('\n');
    auto sig = parse_signature_line(lines.substr(0, nl));
    if (!sig) return std::unexpected(sig.error());
    note.signatures.push_back(std::move(*sig));
    lines.remove_prefix(nl + 1);
  }
  return note;
}

Result<std::string> Note::format() const {
  if (!is_signable_text(text)) return fail(ErrorCode::kInvalidArgument, "invalid note text");
  if (signatures.empty() || signatures.size() > kMaxNoteSignatures)
    return fail(ErrorCode::kInvalidArgument, "a note needs 1 to 100 signatures");
  std::string out = text + "\n";
  for (const NoteSignature& sig : signatures) {
    if (!is_valid_key_name(sig.name) || sig.signature.empty())
      return fail(ErrorCode::kInvalidArgument, "malformed signature for key " + sig.name);
    out += sig.line();
  }
  return out;
}

Result<OpenedNote> open_note(std::string_view msg, std::span<const NoteVerifier> known) {
  for (size_t i = 0; i < known.size(); ++i)
    for (size_t j = i + 1; j < known.size(); ++j)
      if (known[i].name() == known[j].name() && known[i].key_id() == known[j].key_id())
        return fail(ErrorCode::kInvalidArgument, "ambiguous key " + key_label(known[i].name(), known[i].key_id()));
  auto note = Note::parse(msg);
  if (!note) return std::unexpected(note.error());
  OpenedNote out{note->text, {}, {}};
  for (NoteSignature& sig : note->signatures) {
    const NoteVerifier* key = nullptr;
    for (const NoteVerifier& v : known)
      if (v.name() == sig.name && v.key_id() == sig.key_id) key = &v;
    if (key == nullptr) {
      if (std::find(out.unknown.begin(), out.unknown.end(), sig) == out.unknown.end())
        out.unknown.push_back(std::move(sig));
      continue;
    }
    // Every line from a known key is checked, repeats included: one bad
    // signature from a trusted key condemns the note.
    auto timestamp = key->verify(out.text, sig.signature);
    if (!timestamp) return std::unexpected(timestamp.error());
    bool seen = false;
    for (const VerifiedSignature& v : out.verified) seen = seen || (v.name == sig.name && v.key_id == sig.key_id);
    if (!seen) out.verified.push_back({sig.name, sig.key_id, key->type(), *timestamp});
  }
  if (out.verified.empty())
    return fail(ErrorCode::kFailedPrecondition, "note has no signature from a known key");
  return out;
}

Result<std::string> sign_note(std::string_view text, const NoteSigner& signer) {
  auto sig = signer.sign(text);
  if (!sig) return std::unexpected(sig.error());
  return Note{std::string(text), {std::move(*sig)}}.format();
}

}  // namespace custody::audit
